// DNS messages as discovery writes and reads them, on top of dns-packet: the query we send, the
// check that a reply answers it, and the records we take from it, each validated. Pure: no
// sockets, no timers, so every malformed input can be tried here directly.

import { isIPv4, isIPv6 } from 'node:net';
import { decode, encode, RECURSION_DESIRED, type Answer, type DecodedPacket } from 'dns-packet';
import { DnsError } from './dns-error.js';

/**
 * The EDNS(0) UDP payload size we advertise: the 2020 DNS flag day value, below common path MTUs.
 * Without EDNS a server must truncate at 512 bytes, which an SRV answer for five pods with their
 * addresses already exceeds; larger answers still come, over TCP.
 */
export const UDP_PAYLOAD_BYTES = 1_232;
/** RFC 1035: a name is at most 255 bytes on the wire, so 253 characters as text. */
export const NAME_CHARS_MAX = 253;
export const LABEL_BYTES_MAX = 63;
/** A DNS header; anything shorter cannot carry our id. */
const HEADER_BYTES = 12;

const RCODE_NOERROR = 0;
const RCODE_FORMERR = 1;
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;
const RCODE_REFUSED = 5;
const RCODE_MASK = 0x0f;

export type DnsQueryType = 'SRV' | 'A' | 'AAAA';

export interface DnsQuestion {
  /** Normalized (see normalizeName). */
  name: string;
  type: DnsQueryType;
}

/** Records as the rest of discovery sees them: names lower case, without the trailing dot. */
export type DnsRecord =
  | { type: 'A'; name: string; ttl: number; address: string }
  | { type: 'AAAA'; name: string; ttl: number; address: string }
  | { type: 'CNAME'; name: string; ttl: number; target: string }
  | {
      type: 'SRV';
      name: string;
      ttl: number;
      target: string;
      port: number;
      priority: number;
      weight: number;
    };

export interface DnsAnswer {
  /** NXDOMAIN is an answer ("no such name"), not a failure: it comes with no records. */
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: DnsRecord[];
  additionals: DnsRecord[];
}

/** What one reply is to the question we asked. */
export type ReplyVerdict =
  { kind: 'answer'; packet: DecodedPacket } | { kind: 'ignore'; why: string };

/** Lower case, without the trailing dot: how names are compared everywhere in discovery. */
export function normalizeName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

/** `name` normalized; DNS_BAD_NAME when it cannot be a DNS name. */
export function checkName(name: string): string {
  const normalized = normalizeName(name);
  const labels = normalized.split('.');
  const valid =
    normalized.length > 0 &&
    normalized.length <= NAME_CHARS_MAX &&
    labels.every((label) => label.length <= LABEL_BYTES_MAX && /^[a-z0-9_-]+$/.test(label));
  if (!valid) throw new DnsError('DNS_BAD_NAME', `"${name}" is not a valid DNS name`);
  return normalized;
}

/** A recursive query for `question` with an EDNS(0) OPT record. */
export function encodeQuery(id: number, question: DnsQuestion): Buffer {
  return encode({
    type: 'query',
    id,
    flags: RECURSION_DESIRED,
    questions: [{ type: question.type, name: question.name, class: 'IN' }],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: UDP_PAYLOAD_BYTES,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
}

/**
 * Whether `message` answers our question (`id`, `question`): `ignore` when it is not ours,
 * `answer` when it is; DNS_MALFORMED when it carries our id but does not decode.
 */
export function inspectReply(message: Buffer, id: number, question: DnsQuestion): ReplyVerdict {
  if (message.length < HEADER_BYTES) return { kind: 'ignore', why: 'shorter than a DNS header' };
  if (message.readUInt16BE(0) !== id) return { kind: 'ignore', why: 'another id' };
  let packet: DecodedPacket;
  try {
    packet = decode(message);
  } catch (err) {
    throw new DnsError(
      'DNS_MALFORMED',
      `undecodable answer to ${question.type} ${question.name}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (!packet.flag_qr) return { kind: 'ignore', why: 'not a response' };
  const questions = packet.questions ?? [];
  const rcode = (packet.flags ?? 0) & RCODE_MASK;
  // Servers may leave the question out of an error answer (FORMERR, REFUSED); the id matched.
  if (questions.length === 0 && rcode !== RCODE_NOERROR && rcode !== RCODE_NXDOMAIN) {
    return { kind: 'answer', packet };
  }
  const [echoed] = questions;
  const matches =
    questions.length === 1 &&
    echoed !== undefined &&
    typeof echoed.name === 'string' &&
    normalizeName(echoed.name) === question.name &&
    echoed.type === question.type &&
    (echoed.class === undefined || echoed.class === 'IN');
  return matches ? { kind: 'answer', packet } : { kind: 'ignore', why: 'another question' };
}

/**
 * What an answer that is ours says: records for NOERROR, none for NXDOMAIN; any other rcode is
 * a DnsError. `where` names server and question in messages.
 */
export function readAnswer(packet: DecodedPacket, where: string): DnsAnswer {
  const rcode = (packet.flags ?? 0) & RCODE_MASK;
  switch (rcode) {
    case RCODE_NOERROR:
      return {
        rcode: 'NOERROR',
        answers: toRecords(packet.answers ?? [], where),
        additionals: toRecords(packet.additionals ?? [], where),
      };
    case RCODE_NXDOMAIN:
      return { rcode: 'NXDOMAIN', answers: [], additionals: [] };
    case RCODE_SERVFAIL:
      throw new DnsError('DNS_SERVFAIL', `SERVFAIL for ${where}`);
    case RCODE_REFUSED:
      throw new DnsError('DNS_REFUSED', `REFUSED for ${where}`);
    case RCODE_FORMERR:
      throw new DnsError('DNS_FORMERR', `FORMERR for ${where}`);
    default:
      throw new DnsError('DNS_RCODE', `rcode ${rcode} for ${where}`);
  }
}

function toRecords(answers: readonly Answer[], where: string): DnsRecord[] {
  const records: DnsRecord[] = [];
  for (const answer of answers) {
    const record = toRecord(answer, where);
    if (record !== undefined) records.push(record);
  }
  return records;
}

/** Our view of one record; undefined for types and classes we do not use (OPT, TXT, ...). */
function toRecord(answer: Answer, where: string): DnsRecord | undefined {
  if (answer.type === 'OPT') return undefined;
  if (answer.class !== undefined && answer.class !== 'IN') return undefined;
  const malformed = (what: string): DnsError =>
    new DnsError('DNS_MALFORMED', `answer to ${where} has ${what}`);
  if (typeof answer.name !== 'string') throw malformed('a record without a name');
  const name = normalizeName(answer.name);
  const ttl = typeof answer.ttl === 'number' ? answer.ttl : 0;
  switch (answer.type) {
    case 'A':
      if (typeof answer.data !== 'string' || !isIPv4(answer.data)) {
        throw malformed('a bad A record');
      }
      return { type: 'A', name, ttl, address: answer.data };
    case 'AAAA':
      if (typeof answer.data !== 'string' || !isIPv6(answer.data)) {
        throw malformed('a bad AAAA record');
      }
      return { type: 'AAAA', name, ttl, address: answer.data };
    case 'CNAME':
      if (typeof answer.data !== 'string') throw malformed('a bad CNAME record');
      return { type: 'CNAME', name, ttl, target: normalizeName(answer.data) };
    case 'SRV': {
      const data: unknown = answer.data;
      if (typeof data !== 'object' || data === null) throw malformed('a bad SRV record');
      const { port, target, priority, weight } = data as Record<string, unknown>;
      if (
        !isUint16(port) ||
        typeof target !== 'string' ||
        !isUint16(priority ?? 0) ||
        !isUint16(weight ?? 0)
      ) {
        throw malformed('a bad SRV record');
      }
      return {
        type: 'SRV',
        name,
        ttl,
        target: normalizeName(target),
        port,
        priority: (priority as number | undefined) ?? 0,
        weight: (weight as number | undefined) ?? 0,
      };
    }
    default:
      return undefined;
  }
}

function isUint16(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}
