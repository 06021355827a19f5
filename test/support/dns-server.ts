// An authoritative DNS server for tests, over UDP and TCP on one loopback port, answering the way
// Kubernetes cluster DNS answers for a headless Service: `_gossip._udp.<svc>` SRV with one
// `<pod>.<svc>` target per pod and the targets' addresses in the additional section, plus A/AAAA
// records for `<svc>` and for each `<pod>.<svc>`. Records change at runtime (pods come, go and
// move), and the server can misbehave on request: truncate, refuse, fail, stay silent, send a
// forged reply first, or send bytes that do not decode.

import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import {
  AUTHORITATIVE_ANSWER,
  decode,
  encode,
  RECURSION_DESIRED,
  TRUNCATED_RESPONSE,
  type Answer,
  type DecodedPacket,
  type OptAnswer,
  type Question,
} from 'dns-packet';

/** The address forged replies carry; a resolver that returns it accepted a forgery. */
export const SPOOFED_IPV4 = '203.0.113.66';
export const SPOOFED_IPV6 = '2001:db8::66';
export const SPOOFED_TARGET = 'spoofed.invalid';
/** TTL of every record; small, as cluster DNS uses for pod records. */
export const RECORD_TTL_S = 5;
/** RFC 1035: without EDNS a UDP answer is at most 512 bytes, else truncated. */
const UDP_PLAIN_BYTES_MAX = 512;
/** Largest EDNS payload we honour, whatever the client advertises. */
const UDP_EDNS_BYTES_MAX = 4_096;
/** One TCP frame is at most 2 + 65535 bytes; a client sending more is cut off. */
const TCP_BUFFER_BYTES_MAX = 2 + 65_535;
/** Tries to find a port free for both UDP and TCP when binding an ephemeral one. */
const BIND_ATTEMPTS = 10;
const CNAME_CHAIN_MAX = 8;

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };
export type FailureRcode = 'FORMERR' | 'SERVFAIL' | 'NOTIMP' | 'REFUSED';

export type TestRecord =
  | { type: 'A'; name: string; address: string }
  | { type: 'AAAA'; name: string; address: string }
  | { type: 'CNAME'; name: string; target: string }
  | { type: 'SRV'; name: string; target: string; port: number; priority?: number; weight?: number };

export interface PodRecord {
  /** The pod's hostname, e.g. `shoal-0`; its record is `<name>.<service>`. */
  name: string;
  /** IPv4 gives A records, IPv6 AAAA records. */
  ip: string;
}

export interface DnsServerBehaviour {
  /** Answer every UDP query truncated (TC set, no records), as a server whose answer is too big. */
  truncateUdp: boolean;
  /** Answer every query with this rcode and no records. */
  rcode: FailureRcode | undefined;
  /** Leave this many of the next UDP queries unanswered (Infinity: all of them). */
  dropUdp: number;
  /** Before each UDP answer, send a forged one with another id, or with another question. */
  spoofFirst: 'id' | 'question' | undefined;
  /** Answer with the query's id followed by bytes that do not decode: `true` on both transports. */
  garbage: boolean | 'udp' | 'tcp';
  /** Put SRV targets' addresses in the additional section, as cluster DNS does. */
  srvAdditionals: boolean;
}

export interface ReceivedQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

export interface TestDnsServer {
  readonly host: string;
  readonly port: number;
  /** `{ host, port }`, the shape the DNS client takes. */
  readonly address: { host: string; port: number };
  /** Every query received, in order, also those dropped or answered with an error. */
  readonly queries: readonly ReceivedQuery[];
  /**
   * Replaces the records of `service` with those of `pods`: SRV `_gossip._udp.<service>` (unless
   * `srv: false`, as for a Service without a port named gossip), A/AAAA of `<service>` and of
   * `<pod>.<service>`. No pods: the names no longer exist (NXDOMAIN).
   */
  setPods(
    service: string,
    pods: readonly PodRecord[],
    gossipPort: number,
    options?: { srv?: boolean },
  ): void;
  addRecord(record: TestRecord): void;
  /** Removes every record of `name`: it answers NXDOMAIN from now on. */
  removeName(name: string): void;
  behave(changes: Partial<DnsServerBehaviour>): void;
  clearQueries(): void;
  close(): Promise<void>;
}

const NORMAL: DnsServerBehaviour = {
  truncateUdp: false,
  rcode: undefined,
  dropUdp: 0,
  spoofFirst: undefined,
  garbage: false,
  srvAdditionals: true,
};

function normalize(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

/** Starts the server on `host` (default 127.0.0.1) and `port` (default: a free one). */
export async function startDnsServer(
  options: { host?: string; port?: number } = {},
): Promise<TestDnsServer> {
  const host = options.host ?? '127.0.0.1';
  const { udp, tcp, port } = await bindBoth(host, options.port ?? 0);
  const records = new Map<string, TestRecord[]>();
  const namesOfService = new Map<string, string[]>();
  const queries: ReceivedQuery[] = [];
  const connections = new Set<Socket>();
  let behaviour: DnsServerBehaviour = { ...NORMAL };

  const add = (record: TestRecord): void => {
    const name = normalize(record.name);
    const list = records.get(name) ?? [];
    list.push(
      record.type === 'SRV' || record.type === 'CNAME'
        ? { ...record, name, target: normalize(record.target) }
        : { ...record, name },
    );
    records.set(name, list);
  };

  const handle = (message: Buffer, transport: 'udp' | 'tcp'): Buffer[] => {
    let request: DecodedPacket;
    try {
      request = decode(message);
    } catch {
      return []; // Not a DNS message: no answer, as a real server drops it.
    }
    const question = request.questions?.[0];
    if (request.type !== 'query' || question === undefined) return [];
    queries.push({ name: normalize(question.name), type: question.type, transport });
    if (transport === 'udp' && behaviour.dropUdp > 0) {
      behaviour.dropUdp -= 1;
      return [];
    }
    const id = request.id ?? 0;
    if (behaviour.garbage === true || behaviour.garbage === transport) return [garbage(id)];
    const replies: Buffer[] = [];
    if (transport === 'udp' && behaviour.spoofFirst !== undefined) {
      replies.push(forged(id, question, behaviour.spoofFirst));
    }
    replies.push(answer(request, question, transport));
    return replies;
  };

  const answer = (request: DecodedPacket, question: Question, transport: 'udp' | 'tcp'): Buffer => {
    const edns = request.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
    const opt: Answer[] = edns === undefined ? [] : [optRecord()];
    const flags = AUTHORITATIVE_ANSWER | ((request.flags ?? 0) & RECURSION_DESIRED);
    const base = { type: 'response' as const, id: request.id ?? 0, questions: [question] };
    if (behaviour.rcode !== undefined) {
      return encode({ ...base, flags: flags | RCODES[behaviour.rcode], additionals: opt });
    }
    const name = normalize(question.name);
    if (!records.has(name)) {
      return encode({ ...base, flags: flags | RCODES.NXDOMAIN, additionals: opt });
    }
    const answers = chain(name, question.type);
    const additionals: Answer[] = [];
    if (behaviour.srvAdditionals) {
      for (const record of answers) {
        if (record.type !== 'SRV') continue;
        for (const extra of records.get(record.target) ?? []) {
          if (extra.type === 'A' || extra.type === 'AAAA') additionals.push(toAnswer(extra));
        }
      }
    }
    const full = encode({
      ...base,
      flags,
      answers: answers.map(toAnswer),
      additionals: [...additionals, ...opt],
    });
    if (transport === 'tcp') return full;
    const limit =
      edns === undefined
        ? UDP_PLAIN_BYTES_MAX
        : Math.min(Math.max(edns.udpPayloadSize, UDP_PLAIN_BYTES_MAX), UDP_EDNS_BYTES_MAX);
    if (behaviour.truncateUdp || full.length > limit) {
      return encode({ ...base, flags: flags | TRUNCATED_RESPONSE, additionals: opt });
    }
    return full;
  };

  /** Records of `type` for `name`, with the CNAMEs that lead to them, as a server answers. */
  const chain = (name: string, type: string): TestRecord[] => {
    const out: TestRecord[] = [];
    let current: string | undefined = name;
    for (let hop = 0; current !== undefined && hop <= CNAME_CHAIN_MAX; hop++) {
      const here: TestRecord[] = records.get(current) ?? [];
      out.push(...here.filter((r) => r.type === type));
      const alias = type === 'CNAME' ? undefined : here.find((r) => r.type === 'CNAME');
      if (alias === undefined || alias.type !== 'CNAME') break;
      out.push(alias);
      current = normalize(alias.target);
    }
    return out;
  };

  udp.on('message', (message: Buffer, peer: RemoteInfo) => {
    for (const reply of handle(message, 'udp')) udp.send(reply, peer.port, peer.address);
  });
  // A client that went away makes sends fail; that must not take the test process down.
  udp.on('error', () => undefined);

  tcp.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        for (const reply of handle(message, 'tcp')) {
          const frame = Buffer.alloc(2 + reply.length);
          frame.writeUInt16BE(reply.length, 0);
          reply.copy(frame, 2);
          socket.write(frame);
        }
      }
      if (buffered.length > TCP_BUFFER_BYTES_MAX) socket.destroy();
    });
  });

  return {
    host,
    port,
    address: { host, port },
    queries,
    setPods(service, pods, gossipPort, setOptions = {}) {
      const svc = normalize(service);
      for (const name of namesOfService.get(svc) ?? []) records.delete(name);
      const srvName = `_gossip._udp.${svc}`;
      const owned = new Set<string>();
      for (const pod of pods) {
        const podName = `${normalize(pod.name)}.${svc}`;
        const type = isIPv6(pod.ip) ? 'AAAA' : 'A';
        add({ type, name: podName, address: pod.ip });
        add({ type, name: svc, address: pod.ip });
        owned.add(podName).add(svc);
        if (setOptions.srv !== false) {
          add({ type: 'SRV', name: srvName, target: podName, port: gossipPort });
          owned.add(srvName);
        }
      }
      namesOfService.set(svc, [...owned]);
    },
    addRecord: add,
    removeName(name) {
      records.delete(normalize(name));
    },
    behave(changes) {
      behaviour = { ...behaviour, ...changes };
    },
    clearQueries() {
      queries.length = 0;
    },
    async close() {
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function toAnswer(record: TestRecord): Answer {
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return { type: record.type, name: record.name, ttl: RECORD_TTL_S, data: record.address };
    case 'CNAME':
      return { type: 'CNAME', name: record.name, ttl: RECORD_TTL_S, data: record.target };
    case 'SRV':
      return {
        type: 'SRV',
        name: record.name,
        ttl: RECORD_TTL_S,
        data: {
          target: record.target,
          port: record.port,
          priority: record.priority ?? 0,
          weight: record.weight ?? 0,
        },
      };
  }
}

function optRecord(): OptAnswer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: UDP_EDNS_BYTES_MAX,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

/** A plausible answer to the wrong question, or with the wrong id, pointing at our addresses. */
function forged(id: number, question: Question, kind: 'id' | 'question'): Buffer {
  const name = kind === 'question' ? SPOOFED_TARGET : question.name;
  const answers: Answer[] = [];
  const additionals: Answer[] = [];
  if (question.type === 'SRV') {
    const data = { target: SPOOFED_TARGET, port: 1, priority: 0, weight: 0 };
    answers.push({ type: 'SRV', name, ttl: RECORD_TTL_S, data });
    additionals.push({ type: 'A', name: SPOOFED_TARGET, ttl: RECORD_TTL_S, data: SPOOFED_IPV4 });
  } else if (question.type === 'AAAA') {
    answers.push({ type: 'AAAA', name, ttl: RECORD_TTL_S, data: SPOOFED_IPV6 });
  } else {
    answers.push({ type: 'A', name, ttl: RECORD_TTL_S, data: SPOOFED_IPV4 });
  }
  return encode({
    type: 'response',
    id: kind === 'id' ? (id + 1) & 0xffff : id,
    flags: AUTHORITATIVE_ANSWER,
    questions: [{ ...question, name }],
    answers,
    additionals,
  });
}

/**
 * The query's id and a response header announcing one question and one answer, then a name
 * that is a compression pointer past the end of the message: no decoder can read it.
 */
function garbage(id: number): Buffer {
  const bytes = Buffer.from([0, 0, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0xff, 0x13, 0x37]);
  bytes.writeUInt16BE(id, 0);
  return bytes;
}

async function bindBoth(
  host: string,
  port: number,
): Promise<{ udp: UdpSocket; tcp: Server; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const bound = udp.address().port;
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(bound, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: bound };
    } catch (err) {
      // The ephemeral UDP port was taken for TCP by someone else: pick another, a few times.
      udp.close();
      if (port !== 0 || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}
