// A small stub resolver: one question to one server, over UDP, repeated over TCP when the UDP
// answer is truncated. Built on dns-packet (not node:dns) so that the server, the timeouts and
// the retries are ours to choose and to test, and so that SRV answers keep their additional
// section (cluster DNS puts the pods' addresses there, saving a round trip per pod).
//
// Defences, as a stub resolver needs them: a random id per attempt; on UDP a connected socket
// (the kernel drops datagrams from any other address) and a reply must echo our id and question,
// or it is ignored and we keep waiting; every socket is closed on every path.

import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createConnection, isIP, isIPv6 } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DecodedPacket } from 'dns-packet';
import { backoffDelayMs } from './backoff.js';
import { DnsError, isDnsError } from './dns-error.js';
import {
  checkName,
  encodeQuery,
  inspectReply,
  readAnswer,
  type DnsAnswer,
  type DnsQueryType,
  type DnsQuestion,
} from './dns-message.js';

/** Per attempt, UDP and (after truncation) TCP each. Cluster DNS answers in well under 10 ms. */
export const QUERY_TIMEOUT_MS = 1_000;
/** Attempts per query, the first included; a lost datagram or SERVFAIL is retried. */
export const QUERY_ATTEMPTS = 3;
/** Wait before the first retry; doubles per retry up to QUERY_BACKOFF_MAX_MS. */
export const QUERY_BACKOFF_MS = 100;
export const QUERY_BACKOFF_MAX_MS = 1_000;

export interface DnsServer {
  host: string;
  port: number;
}

export interface DnsResponse extends DnsAnswer {
  /** `tcp` when the UDP answer was truncated and the query was repeated over TCP. */
  transport: 'udp' | 'tcp';
  /** Attempts it took, the successful one included. */
  attempts: number;
  /** UDP replies dropped because their id or question was not ours (late, forged or stray). */
  ignoredReplies: number;
}

export interface QueryOptions {
  timeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
  backoffMaxMs?: number;
}

/**
 * Asks `server` for the `type` records of `name`. Resolves with the records (none for NXDOMAIN);
 * rejects only with DnsError: DNS_TIMEOUT, DNS_SERVFAIL, DNS_REFUSED, DNS_FORMERR, DNS_RCODE,
 * DNS_MALFORMED, DNS_NETWORK, DNS_BAD_NAME, DNS_BAD_SERVER.
 */
export async function query(
  server: DnsServer,
  name: string,
  type: DnsQueryType,
  options: QueryOptions = {},
): Promise<DnsResponse> {
  checkServer(server);
  const question: DnsQuestion = { name: checkName(name), type };
  const attempts = Math.max(1, Math.floor(options.attempts ?? QUERY_ATTEMPTS));
  const timeoutMs = options.timeoutMs ?? QUERY_TIMEOUT_MS;
  const ignored = { count: 0 };
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await attemptOnce(server, question, timeoutMs, ignored);
      return { ...response, attempts: attempt, ignoredReplies: ignored.count };
    } catch (err) {
      if (!isDnsError(err) || !err.retryable) throw err;
      if (attempt >= attempts) {
        throw new DnsError(err.code, `${err.message} (after ${attempt} attempts)`, { cause: err });
      }
      await sleep(
        backoffDelayMs(
          attempt,
          options.backoffMs ?? QUERY_BACKOFF_MS,
          options.backoffMaxMs ?? QUERY_BACKOFF_MAX_MS,
        ),
      );
    }
  }
}

function checkServer(server: DnsServer): void {
  if (isIP(server.host) === 0) {
    throw new DnsError('DNS_BAD_SERVER', `DNS server "${server.host}" is not an IP address`);
  }
  if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65_535) {
    throw new DnsError('DNS_BAD_SERVER', `DNS server port ${server.port} is not in 1..65535`);
  }
}

function describe(server: DnsServer, question: DnsQuestion): string {
  const where =
    isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
  return `${question.type} ${question.name} at ${where}`;
}

async function attemptOnce(
  server: DnsServer,
  question: DnsQuestion,
  timeoutMs: number,
  ignored: { count: number },
): Promise<Omit<DnsResponse, 'attempts' | 'ignoredReplies'>> {
  const id = randomInt(0, 0x1_0000);
  const request = encodeQuery(id, question);
  const udp = await exchangeUdp(server, request, id, question, timeoutMs, ignored);
  const where = describe(server, question);
  if (!udp.flag_tc) return { ...readAnswer(udp, where), transport: 'udp' };
  // Truncated: the answer did not fit a datagram. Ask again over TCP, where it fits whole.
  const tcp = await exchangeTcp(server, request, id, question, timeoutMs);
  return { ...readAnswer(tcp, where), transport: 'tcp' };
}

function exchangeUdp(
  server: DnsServer,
  request: Buffer,
  id: number,
  question: DnsQuestion,
  timeoutMs: number,
  ignored: { count: number },
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (err: DnsError | undefined, packet?: DecodedPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Already closed by a failed bind or connect: nothing left to release.
      }
      if (err !== undefined) reject(err);
      else if (packet !== undefined) resolve(packet);
    };
    const timer = setTimeout(() => {
      finish(new DnsError('DNS_TIMEOUT', `no answer to ${describe(server, question)}`));
    }, timeoutMs);
    const networkError = (err: Error): DnsError =>
      new DnsError('DNS_NETWORK', `${describe(server, question)}: ${err.message}`, { cause: err });
    socket.on('error', (err) => finish(networkError(err)));
    socket.on('message', (message: Buffer) => {
      try {
        const verdict = inspectReply(message, id, question);
        if (verdict.kind === 'ignore') ignored.count++;
        else finish(undefined, verdict.packet);
      } catch (err) {
        finish(err as DnsError);
      }
    });
    // Connected: the kernel then delivers only datagrams from the server's address and port,
    // and reports an ICMP "port unreachable" as an error instead of a silent timeout. Node hands
    // a failed connect to this callback (not to 'error'), and the timer may have closed the
    // socket before it runs.
    socket.connect(server.port, server.host, (err?: Error) => {
      if (settled) return;
      if (err) {
        finish(networkError(err));
        return;
      }
      try {
        socket.send(request, (sendErr) => {
          if (sendErr) finish(networkError(sendErr));
        });
      } catch (sendErr) {
        finish(networkError(sendErr as Error));
      }
    });
  });
}

function exchangeTcp(
  server: DnsServer,
  request: Buffer,
  id: number,
  question: DnsQuestion,
  timeoutMs: number,
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: server.host, port: server.port });
    let settled = false;
    let received = Buffer.alloc(0);
    const finish = (err: DnsError | undefined, packet?: DecodedPacket): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err !== undefined) reject(err);
      else if (packet !== undefined) resolve(packet);
    };
    const timer = setTimeout(() => {
      finish(new DnsError('DNS_TIMEOUT', `no answer over TCP to ${describe(server, question)}`));
    }, timeoutMs);
    socket.on('error', (err) => {
      finish(
        new DnsError('DNS_NETWORK', `TCP ${describe(server, question)}: ${err.message}`, {
          cause: err,
        }),
      );
    });
    socket.on('close', () => {
      finish(
        new DnsError('DNS_NETWORK', `TCP ${describe(server, question)}: closed before an answer`),
      );
    });
    socket.on('connect', () => {
      // RFC 1035 4.2.2: over TCP every message is preceded by its length as two bytes.
      const frame = Buffer.alloc(2 + request.length);
      frame.writeUInt16BE(request.length, 0);
      request.copy(frame, 2);
      socket.write(frame);
    });
    socket.on('data', (chunk: Buffer) => {
      // Bounded: we stop at the first whole frame, whose length field caps it at 64 KiB.
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      try {
        const verdict = inspectReply(received.subarray(2, 2 + length), id, question);
        if (verdict.kind === 'answer') finish(undefined, verdict.packet);
        else {
          finish(
            new DnsError(
              'DNS_MALFORMED',
              `TCP answer to ${describe(server, question)} has ${verdict.why}`,
            ),
          );
        }
      } catch (err) {
        finish(err as DnsError);
      }
    });
  });
}
