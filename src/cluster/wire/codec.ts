// The binary form of every gossip message (messages.ts), in the shape of a pure codec:
// `encode`, `decode`, `encodingLength`, every read bounds-checked. Hand-written rather than msgpack
// so that each field has a fixed width we can check, a malformed packet costs nothing to reject,
// and the size of a message is known before it is built (the SWIM core packs datagrams by it).
//
// All integers are big-endian. The first byte is the MessageType number. Strings are UTF-8 with a
// u8 length (names, addresses) or a u16 length (error text); byte fields have a u16 length.
// Booleans are one byte, strictly 0 or 1.
//
//   ping          u32 seqNo, str8 target, str8 source, str8 sourceAddr, u16 sourcePort
//   indirectPing  u32 seqNo, str8 target, str8 targetAddr, u16 targetPort, bool wantNack,
//                 str8 source, str8 sourceAddr, u16 sourcePort
//   ack           u32 seqNo, bytes16 payload
//   nack          u32 seqNo
//   suspect       u32 incarnation, str8 node, str8 from
//   alive         u32 incarnation, str8 node, str8 addr, u16 port, bytes16 meta,
//                 u8 protocol min, u8 max, u8 current
//   dead          u32 incarnation, str8 node, str8 from
//   pushPull      bool join, u32 count, count x (str8 name, str8 addr, u16 port, bytes16 meta,
//                 u32 incarnation, u8 state, u8 protocol min, u8 max, u8 current)
//   err           str16 error
//   compound      u8 count, count x u16 part length, the parts (never a compound)
//
// Decoding is strict: an invalid UTF-8 string is a CodecError rather than a lossy decode, because
// a name with U+FFFD in it could collide with another member's name, and because strictness keeps
// `encode(decode(bytes))` equal to `bytes` for every packet we accept. For the same reason encode
// refuses strings with lone surrogates (they have no UTF-8 form).

import { isUtf8 } from 'node:buffer';
import { CodecError } from './codec-error.js';
import {
  ACK_PAYLOAD_BYTES_MAX,
  ADDR_BYTES_MAX,
  COMPOUND_HEADER_BYTES,
  COMPOUND_PART_BYTES_MAX,
  COMPOUND_PART_OVERHEAD_BYTES,
  COMPOUND_PARTS_MAX,
  ERROR_TEXT_BYTES_MAX,
  META_BYTES_MAX,
  NAME_BYTES_MAX,
  PACKET_BYTES_MAX,
  PUSH_PULL_STATES_MAX,
} from './limits.js';
import {
  MessageType,
  type MemberStateName,
  type Message,
  type MessageTypeName,
  type ProtocolRange,
  type PushNodeState,
} from './messages.js';

const U8_MAX = 0xff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;

/** Member state numbers on the wire. ONLY APPEND, like message type numbers. */
const MEMBER_STATES: readonly MemberStateName[] = ['alive', 'suspect', 'dead', 'left'];
const MEMBER_STATE_NUMBER: Record<MemberStateName, number> = {
  alive: 0,
  suspect: 1,
  dead: 2,
  left: 3,
};

const TYPE_NAMES: ReadonlyMap<number, MessageTypeName> = new Map(
  (Object.entries(MessageType) as [MessageTypeName, number][]).map(([name, n]) => [n, name]),
);

// With the `u` flag a surrogate range matches only surrogates that are not part of a pair.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

// ---------------------------------------------------------------------------------------------
// Measuring (and validating) a message before it is written.

function checkUint(value: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new CodecError('out_of_range', `${field} ${String(value)} does not fit 0..${max}`);
  }
}

function checkBool(value: boolean, field: string): void {
  if (typeof value !== 'boolean') {
    throw new CodecError('bad_boolean', `${field} is not a boolean`);
  }
}

/** Bytes of a length-prefixed string, prefix included. */
function stringLength(value: string, limit: number, prefixBytes: number, field: string): number {
  if (typeof value !== 'string' || LONE_SURROGATE.test(value)) {
    throw new CodecError('bad_utf8', `${field} is not a well-formed string`);
  }
  const n = Buffer.byteLength(value, 'utf8');
  if (n > limit) {
    throw new CodecError('over_limit', `${field} is ${n} bytes, over the limit of ${limit}`);
  }
  return prefixBytes + n;
}

/** Bytes of a u16-length-prefixed byte field, prefix included. */
function bytesLength(value: Uint8Array, limit: number, field: string): number {
  if (!(value instanceof Uint8Array)) {
    throw new CodecError('out_of_range', `${field} is not a byte array`);
  }
  if (value.length > limit) {
    throw new CodecError(
      'over_limit',
      `${field} is ${value.length} bytes, over the limit of ${limit}`,
    );
  }
  return 2 + value.length;
}

function protocolLength(protocol: ProtocolRange): number {
  checkUint(protocol.min, U8_MAX, 'protocol.min');
  checkUint(protocol.max, U8_MAX, 'protocol.max');
  checkUint(protocol.current, U8_MAX, 'protocol.current');
  return 3;
}

function name8(value: string, field: string): number {
  return stringLength(value, NAME_BYTES_MAX, 1, field);
}

function addr8(value: string, field: string): number {
  return stringLength(value, ADDR_BYTES_MAX, 1, field);
}

function pushStateLength(state: PushNodeState): number {
  checkUint(state.port, U16_MAX, 'port');
  checkUint(state.incarnation, U32_MAX, 'incarnation');
  if (!Object.hasOwn(MEMBER_STATE_NUMBER, state.state)) {
    throw new CodecError('bad_enum', `member state ${String(state.state)} is unknown`);
  }
  return (
    name8(state.name, 'name') +
    addr8(state.addr, 'addr') +
    2 +
    bytesLength(state.meta, META_BYTES_MAX, 'meta') +
    4 +
    1 +
    protocolLength(state.protocol)
  );
}

/** Bytes after the type byte. Throws CodecError for any value the wire cannot carry. */
function bodyLength(msg: Message): number {
  switch (msg.type) {
    case 'ping':
      checkUint(msg.seqNo, U32_MAX, 'seqNo');
      checkUint(msg.sourcePort, U16_MAX, 'sourcePort');
      return (
        4 +
        name8(msg.target, 'target') +
        name8(msg.source, 'source') +
        addr8(msg.sourceAddr, 'sourceAddr') +
        2
      );
    case 'indirectPing':
      checkUint(msg.seqNo, U32_MAX, 'seqNo');
      checkUint(msg.targetPort, U16_MAX, 'targetPort');
      checkUint(msg.sourcePort, U16_MAX, 'sourcePort');
      checkBool(msg.wantNack, 'wantNack');
      return (
        4 +
        name8(msg.target, 'target') +
        addr8(msg.targetAddr, 'targetAddr') +
        2 +
        1 +
        name8(msg.source, 'source') +
        addr8(msg.sourceAddr, 'sourceAddr') +
        2
      );
    case 'ack':
      checkUint(msg.seqNo, U32_MAX, 'seqNo');
      return 4 + bytesLength(msg.payload, ACK_PAYLOAD_BYTES_MAX, 'payload');
    case 'nack':
      checkUint(msg.seqNo, U32_MAX, 'seqNo');
      return 4;
    case 'suspect':
    case 'dead':
      checkUint(msg.incarnation, U32_MAX, 'incarnation');
      return 4 + name8(msg.node, 'node') + name8(msg.from, 'from');
    case 'alive':
      checkUint(msg.incarnation, U32_MAX, 'incarnation');
      checkUint(msg.port, U16_MAX, 'port');
      return (
        4 +
        name8(msg.node, 'node') +
        addr8(msg.addr, 'addr') +
        2 +
        bytesLength(msg.meta, META_BYTES_MAX, 'meta') +
        protocolLength(msg.protocol)
      );
    case 'pushPull': {
      checkBool(msg.join, 'join');
      if (msg.states.length > PUSH_PULL_STATES_MAX) {
        throw new CodecError(
          'over_limit',
          `push-pull of ${msg.states.length} members, over the limit of ${PUSH_PULL_STATES_MAX}`,
        );
      }
      let n = 1 + 4;
      for (const state of msg.states) n += pushStateLength(state);
      return n;
    }
    case 'err':
      return stringLength(msg.error, ERROR_TEXT_BYTES_MAX, 2, 'error');
    case 'compound': {
      if (msg.parts.length > COMPOUND_PARTS_MAX) {
        throw new CodecError(
          'over_limit',
          `compound of ${msg.parts.length} parts, over the limit of ${COMPOUND_PARTS_MAX}`,
        );
      }
      let n = COMPOUND_HEADER_BYTES - 1;
      for (const part of msg.parts) {
        if (part.type === 'compound') {
          throw new CodecError('nested_compound', 'a compound message cannot hold a compound');
        }
        const partBytes = 1 + bodyLength(part);
        if (partBytes > COMPOUND_PART_BYTES_MAX) {
          throw new CodecError(
            'over_limit',
            `compound part of ${partBytes} bytes, over the limit of ${COMPOUND_PART_BYTES_MAX}`,
          );
        }
        n += COMPOUND_PART_OVERHEAD_BYTES + partBytes;
      }
      return n;
    }
    default:
      throw new CodecError(
        'unknown_type',
        `message type ${String((msg as { type: unknown }).type)} is unknown`,
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Writing. Only ever called on a message bodyLength accepted, into a buffer of exactly its size.

class Writer {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  u8(value: number): void {
    this.buf[this.offset++] = value;
  }

  u16(value: number): void {
    this.buf.writeUInt16BE(value, this.offset);
    this.offset += 2;
  }

  u32(value: number): void {
    this.buf.writeUInt32BE(value, this.offset);
    this.offset += 4;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  str8(value: string): void {
    const n = this.buf.write(value, this.offset + 1, 'utf8');
    this.buf[this.offset] = n;
    this.offset += 1 + n;
  }

  str16(value: string): void {
    const n = this.buf.write(value, this.offset + 2, 'utf8');
    this.buf.writeUInt16BE(n, this.offset);
    this.offset += 2 + n;
  }

  bytes16(value: Uint8Array): void {
    this.u16(value.length);
    this.buf.set(value, this.offset);
    this.offset += value.length;
  }

  protocol(protocol: ProtocolRange): void {
    this.u8(protocol.min);
    this.u8(protocol.max);
    this.u8(protocol.current);
  }
}

function writeMessage(w: Writer, msg: Message): void {
  w.u8(MessageType[msg.type]);
  switch (msg.type) {
    case 'ping':
      w.u32(msg.seqNo);
      w.str8(msg.target);
      w.str8(msg.source);
      w.str8(msg.sourceAddr);
      w.u16(msg.sourcePort);
      return;
    case 'indirectPing':
      w.u32(msg.seqNo);
      w.str8(msg.target);
      w.str8(msg.targetAddr);
      w.u16(msg.targetPort);
      w.bool(msg.wantNack);
      w.str8(msg.source);
      w.str8(msg.sourceAddr);
      w.u16(msg.sourcePort);
      return;
    case 'ack':
      w.u32(msg.seqNo);
      w.bytes16(msg.payload);
      return;
    case 'nack':
      w.u32(msg.seqNo);
      return;
    case 'suspect':
    case 'dead':
      w.u32(msg.incarnation);
      w.str8(msg.node);
      w.str8(msg.from);
      return;
    case 'alive':
      w.u32(msg.incarnation);
      w.str8(msg.node);
      w.str8(msg.addr);
      w.u16(msg.port);
      w.bytes16(msg.meta);
      w.protocol(msg.protocol);
      return;
    case 'pushPull':
      w.bool(msg.join);
      w.u32(msg.states.length);
      for (const s of msg.states) {
        w.str8(s.name);
        w.str8(s.addr);
        w.u16(s.port);
        w.bytes16(s.meta);
        w.u32(s.incarnation);
        w.u8(MEMBER_STATE_NUMBER[s.state]);
        w.protocol(s.protocol);
      }
      return;
    case 'err':
      w.str16(msg.error);
      return;
    case 'compound': {
      // Lengths first, then parts; each length is filled in once its part is written.
      w.u8(msg.parts.length);
      let lengthAt = w.offset;
      w.offset += COMPOUND_PART_OVERHEAD_BYTES * msg.parts.length;
      for (const part of msg.parts) {
        const start = w.offset;
        writeMessage(w, part);
        w.buf.writeUInt16BE(w.offset - start, lengthAt);
        lengthAt += COMPOUND_PART_OVERHEAD_BYTES;
      }
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading. Every read checks the bytes are there; every length is checked against its limit
// before anything is sliced or allocated.

class Reader {
  offset = 0;
  constructor(readonly buf: Buffer) {}

  private need(n: number, field: string): void {
    if (this.offset + n > this.buf.length) {
      throw new CodecError('truncated', `input ends inside ${field}`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf.readUInt8(this.offset++);
  }

  u16(field: string): number {
    this.need(2, field);
    const value = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  u32(field: string): number {
    this.need(4, field);
    const value = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  bool(field: string): boolean {
    const value = this.u8(field);
    if (value > 1) throw new CodecError('bad_boolean', `${field} is ${value}, not 0 or 1`);
    return value === 1;
  }

  /** `n` bytes as a view into the input (no copy). */
  take(n: number, field: string): Buffer {
    this.need(n, field);
    const view = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return view;
  }

  private string(n: number, limit: number, field: string): string {
    if (n > limit) {
      throw new CodecError('over_limit', `${field} is ${n} bytes, over the limit of ${limit}`);
    }
    const view = this.take(n, field);
    if (!isUtf8(view)) throw new CodecError('bad_utf8', `${field} is not valid UTF-8`);
    return view.toString('utf8');
  }

  str8(limit: number, field: string): string {
    return this.string(this.u8(field), limit, field);
  }

  str16(limit: number, field: string): string {
    return this.string(this.u16(field), limit, field);
  }

  /** A copy, so a decoded message never pins or aliases the (possibly pooled) packet buffer. */
  bytes16(limit: number, field: string): Uint8Array {
    const n = this.u16(field);
    if (n > limit) {
      throw new CodecError('over_limit', `${field} is ${n} bytes, over the limit of ${limit}`);
    }
    return new Uint8Array(this.take(n, field));
  }

  protocol(): ProtocolRange {
    return {
      min: this.u8('protocol.min'),
      max: this.u8('protocol.max'),
      current: this.u8('protocol.current'),
    };
  }

  end(): void {
    const left = this.buf.length - this.offset;
    if (left !== 0) {
      throw new CodecError('trailing_bytes', `${left} bytes after the end of the message`);
    }
  }
}

function readPushState(r: Reader): PushNodeState {
  const name = r.str8(NAME_BYTES_MAX, 'name');
  const addr = r.str8(ADDR_BYTES_MAX, 'addr');
  const port = r.u16('port');
  const meta = r.bytes16(META_BYTES_MAX, 'meta');
  const incarnation = r.u32('incarnation');
  const stateNumber = r.u8('state');
  const state = MEMBER_STATES[stateNumber];
  if (state === undefined) {
    throw new CodecError('bad_enum', `member state ${stateNumber} is unknown`);
  }
  return { name, addr, port, meta, incarnation, state, protocol: r.protocol() };
}

function readMessage(r: Reader, insideCompound: boolean): Message {
  const typeNumber = r.u8('message type');
  const type = TYPE_NAMES.get(typeNumber);
  switch (type) {
    case 'ping':
      return {
        type,
        seqNo: r.u32('seqNo'),
        target: r.str8(NAME_BYTES_MAX, 'target'),
        source: r.str8(NAME_BYTES_MAX, 'source'),
        sourceAddr: r.str8(ADDR_BYTES_MAX, 'sourceAddr'),
        sourcePort: r.u16('sourcePort'),
      };
    case 'indirectPing':
      return {
        type,
        seqNo: r.u32('seqNo'),
        target: r.str8(NAME_BYTES_MAX, 'target'),
        targetAddr: r.str8(ADDR_BYTES_MAX, 'targetAddr'),
        targetPort: r.u16('targetPort'),
        wantNack: r.bool('wantNack'),
        source: r.str8(NAME_BYTES_MAX, 'source'),
        sourceAddr: r.str8(ADDR_BYTES_MAX, 'sourceAddr'),
        sourcePort: r.u16('sourcePort'),
      };
    case 'ack':
      return {
        type,
        seqNo: r.u32('seqNo'),
        payload: r.bytes16(ACK_PAYLOAD_BYTES_MAX, 'payload'),
      };
    case 'nack':
      return { type, seqNo: r.u32('seqNo') };
    case 'suspect':
    case 'dead':
      return {
        type,
        incarnation: r.u32('incarnation'),
        node: r.str8(NAME_BYTES_MAX, 'node'),
        from: r.str8(NAME_BYTES_MAX, 'from'),
      };
    case 'alive':
      return {
        type,
        incarnation: r.u32('incarnation'),
        node: r.str8(NAME_BYTES_MAX, 'node'),
        addr: r.str8(ADDR_BYTES_MAX, 'addr'),
        port: r.u16('port'),
        meta: r.bytes16(META_BYTES_MAX, 'meta'),
        protocol: r.protocol(),
      };
    case 'pushPull': {
      const join = r.bool('join');
      const count = r.u32('member count');
      if (count > PUSH_PULL_STATES_MAX) {
        throw new CodecError(
          'over_limit',
          `push-pull of ${count} members, over the limit of ${PUSH_PULL_STATES_MAX}`,
        );
      }
      const states: PushNodeState[] = [];
      for (let i = 0; i < count; i++) states.push(readPushState(r));
      return { type, join, states };
    }
    case 'err':
      return { type, error: r.str16(ERROR_TEXT_BYTES_MAX, 'error') };
    case 'compound': {
      if (insideCompound) {
        throw new CodecError('nested_compound', 'a compound message cannot hold a compound');
      }
      const count = r.u8('part count');
      const lengths: number[] = [];
      for (let i = 0; i < count; i++) lengths.push(r.u16('part length'));
      const parts: Message[] = [];
      for (const length of lengths) {
        const part = new Reader(r.take(length, 'compound part'));
        parts.push(readMessage(part, true));
        part.end();
      }
      return { type, parts };
    }
    case undefined:
      throw new CodecError('unknown_type', `message type ${typeNumber} is unknown`);
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

// ---------------------------------------------------------------------------------------------
// Public API.

/** Exact number of bytes `encode(msg)` produces. Throws CodecError where `encode` would. */
export function encodingLength(msg: Message): number {
  return 1 + bodyLength(msg);
}

/**
 * The wire form of one message. Throws CodecError for a value the wire cannot carry (a number
 * outside its field, a string or list over its limit, a compound inside a compound) rather than
 * truncating it silently.
 */
export function encode(msg: Message): Uint8Array {
  const length = encodingLength(msg);
  const w = new Writer(Buffer.allocUnsafe(length));
  writeMessage(w, msg);
  if (w.offset !== length) {
    throw new Error(`codec invariant: wrote ${w.offset} bytes of a ${length}-byte message`);
  }
  return w.buf;
}

/** One message from exactly these bytes. Throws only CodecError, whatever the input. */
export function decode(bytes: Uint8Array): Message {
  const r = new Reader(asBuffer(bytes));
  const msg = readMessage(r, false);
  r.end();
  return msg;
}

/** The messages of one datagram: a compound's parts, or the single message it holds. */
export function splitPacket(bytes: Uint8Array): Message[] {
  const msg = decode(bytes);
  return msg.type === 'compound' ? msg.parts : [msg];
}

function wrapCompound(parts: readonly Uint8Array[]): Uint8Array {
  let length = COMPOUND_HEADER_BYTES;
  for (const part of parts) length += COMPOUND_PART_OVERHEAD_BYTES + part.length;
  const out = Buffer.allocUnsafe(length);
  out[0] = MessageType.compound;
  out[1] = parts.length;
  let lengthAt = COMPOUND_HEADER_BYTES;
  let partAt = COMPOUND_HEADER_BYTES + COMPOUND_PART_OVERHEAD_BYTES * parts.length;
  for (const part of parts) {
    out.writeUInt16BE(part.length, lengthAt);
    lengthAt += COMPOUND_PART_OVERHEAD_BYTES;
    out.set(part, partAt);
    partAt += part.length;
  }
  return out;
}

/**
 * Packs already-encoded messages into as few datagrams as possible, in order, each at most
 * `maxBytes`: a datagram of one message is that message bare, several go in a compound.
 * Greedy filling is optimal here because every run of messages that fits still fits when
 * shortened. Throws CodecError for a message that can never fit (longer than `maxBytes`), an
 * empty one, or one that is itself a compound (compounds do not nest).
 */
export function packCompound(
  encoded: readonly Uint8Array[],
  maxBytes: number = PACKET_BYTES_MAX,
): Uint8Array[] {
  const datagrams: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let groupCompoundBytes = COMPOUND_HEADER_BYTES;
  let groupWrappable = true;

  const flush = (): void => {
    if (group.length === 1 && group[0] !== undefined) datagrams.push(group[0]);
    else if (group.length > 1) datagrams.push(wrapCompound(group));
    group = [];
    groupCompoundBytes = COMPOUND_HEADER_BYTES;
    groupWrappable = true;
  };

  for (const message of encoded) {
    if (message.length === 0) {
      throw new CodecError('truncated', 'cannot pack an empty message');
    }
    if (message[0] === MessageType.compound) {
      throw new CodecError('nested_compound', 'cannot pack a compound inside a compound');
    }
    if (message.length > maxBytes) {
      throw new CodecError(
        'over_limit',
        `message of ${message.length} bytes cannot fit a ${maxBytes}-byte datagram`,
      );
    }
    const partBytes = COMPOUND_PART_OVERHEAD_BYTES + message.length;
    const wrappable = message.length <= COMPOUND_PART_BYTES_MAX;
    const joins =
      group.length > 0 &&
      group.length < COMPOUND_PARTS_MAX &&
      groupWrappable &&
      wrappable &&
      groupCompoundBytes + partBytes <= maxBytes;
    if (!joins) flush();
    group.push(message);
    groupCompoundBytes += partBytes;
    groupWrappable &&= wrappable;
  }
  flush();
  return datagrams;
}
