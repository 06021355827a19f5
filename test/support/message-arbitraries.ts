// fast-check arbitraries for every gossip message, valid by construction (every field within its
// wire limit). Shared by the codec's tests and by anything that fuzzes a receiver with
// well-formed but arbitrary traffic.

import fc from 'fast-check';
import type {
  AckMessage,
  AliveMessage,
  CompoundMessage,
  DeadMessage,
  ErrMessage,
  IndirectPingMessage,
  MemberStateName,
  Message,
  NackMessage,
  PingMessage,
  ProtocolRange,
  PushNodeState,
  PushPullMessage,
  SuspectMessage,
} from '../../src/cluster/wire/messages.js';

export const arbU32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const arbPort = fc.integer({ min: 0, max: 0xffff });
export const arbU8 = fc.integer({ min: 0, max: 0xff });

/**
 * Member names: mostly pod-like names from a small set (so generated traffic refers to the same
 * members often), sometimes any Unicode text. 63 code points are at most 252 UTF-8 bytes.
 */
export const arbName: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom('shoal', 'db-shoal'), fc.integer({ min: 0, max: 9 }))
    .map(([prefix, ordinal]) => `${prefix}-${ordinal}`),
  fc.string({ unit: 'binary', maxLength: 63 }),
);

export const arbAddr: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ unit: 'binary', maxLength: 63 }),
);

export const arbMeta: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 64 });

export const arbProtocol: fc.Arbitrary<ProtocolRange> = fc.record({
  min: arbU8,
  max: arbU8,
  current: arbU8,
});

export const arbMemberState: fc.Arbitrary<MemberStateName> = fc.constantFrom(
  'alive',
  'suspect',
  'dead',
  'left',
);

export const arbPing: fc.Arbitrary<PingMessage> = fc.record({
  type: fc.constant('ping' as const),
  seqNo: arbU32,
  target: arbName,
  source: arbName,
  sourceAddr: arbAddr,
  sourcePort: arbPort,
});

export const arbIndirectPing: fc.Arbitrary<IndirectPingMessage> = fc.record({
  type: fc.constant('indirectPing' as const),
  seqNo: arbU32,
  target: arbName,
  targetAddr: arbAddr,
  targetPort: arbPort,
  wantNack: fc.boolean(),
  source: arbName,
  sourceAddr: arbAddr,
  sourcePort: arbPort,
});

export const arbAck: fc.Arbitrary<AckMessage> = fc.record({
  type: fc.constant('ack' as const),
  seqNo: arbU32,
  payload: arbMeta,
});

export const arbNack: fc.Arbitrary<NackMessage> = fc.record({
  type: fc.constant('nack' as const),
  seqNo: arbU32,
});

export const arbSuspect: fc.Arbitrary<SuspectMessage> = fc.record({
  type: fc.constant('suspect' as const),
  incarnation: arbU32,
  node: arbName,
  from: arbName,
});

export const arbAlive: fc.Arbitrary<AliveMessage> = fc.record({
  type: fc.constant('alive' as const),
  incarnation: arbU32,
  node: arbName,
  addr: arbAddr,
  port: arbPort,
  meta: arbMeta,
  protocol: arbProtocol,
});

export const arbDead: fc.Arbitrary<DeadMessage> = fc.record({
  type: fc.constant('dead' as const),
  incarnation: arbU32,
  node: arbName,
  from: arbName,
});

export const arbPushNodeState: fc.Arbitrary<PushNodeState> = fc.record({
  name: arbName,
  addr: arbAddr,
  port: arbPort,
  meta: arbMeta,
  incarnation: arbU32,
  state: arbMemberState,
  protocol: arbProtocol,
});

export const arbPushPull: fc.Arbitrary<PushPullMessage> = fc.record({
  type: fc.constant('pushPull' as const),
  join: fc.boolean(),
  states: fc.array(arbPushNodeState, { maxLength: 8 }),
});

/** 256 code points are at most 1,024 UTF-8 bytes, the ERROR_TEXT_BYTES_MAX. */
export const arbErr: fc.Arbitrary<ErrMessage> = fc.record({
  type: fc.constant('err' as const),
  error: fc.string({ unit: 'binary', maxLength: 256 }),
});

/** What travels in UDP datagrams, alone or in a compound (everything but push-pull). */
export const arbGossipMessage: fc.Arbitrary<Exclude<Message, PushPullMessage | CompoundMessage>> =
  fc.oneof(arbPing, arbIndirectPing, arbAck, arbNack, arbSuspect, arbAlive, arbDead, arbErr);

/** Any message that may be a compound's part (any but a compound). */
export const arbSimpleMessage: fc.Arbitrary<Exclude<Message, CompoundMessage>> = fc.oneof(
  arbGossipMessage,
  arbPushPull,
);

export const arbCompound: fc.Arbitrary<CompoundMessage> = fc.record({
  type: fc.constant('compound' as const),
  parts: fc.array(arbSimpleMessage, { maxLength: 8 }),
});

export const arbMessage: fc.Arbitrary<Message> = fc.oneof(arbSimpleMessage, arbCompound);

/** One arbitrary per message type, keyed by type name, so a test can cover each by name. */
export const arbMessageByType = {
  ping: arbPing,
  indirectPing: arbIndirectPing,
  ack: arbAck,
  nack: arbNack,
  suspect: arbSuspect,
  alive: arbAlive,
  dead: arbDead,
  pushPull: arbPushPull,
  err: arbErr,
  compound: arbCompound,
} satisfies Record<Message['type'], fc.Arbitrary<Message>>;
