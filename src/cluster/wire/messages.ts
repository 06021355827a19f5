// Every message gossiped between members, as plain data. The codec (codec.ts) turns these into
// bytes and back; the SWIM core only ever sees these types. Shapes follow hashicorp/memberlist's
// messages so its protocol reasoning carries over.

/**
 * Message type numbers on the wire. ONLY APPEND: a number, once shipped, keeps its meaning
 * forever, so nodes of different versions can talk during a rolling upgrade.
 */
export const MessageType = {
  ping: 0,
  indirectPing: 1,
  ack: 2,
  suspect: 3,
  alive: 4,
  dead: 5,
  pushPull: 6,
  compound: 7,
  nack: 8,
  err: 9,
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** Protocol versions this build speaks; carried in every alive message. */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 1;
export const PROTOCOL_VERSION_CURRENT = 1;

export interface ProtocolRange {
  min: number;
  max: number;
  current: number;
}

/** Direct probe. `target` lets a node that took over an address reject a ping meant for another. */
export interface PingMessage {
  type: 'ping';
  seqNo: number;
  target: string;
  source: string;
  sourceAddr: string;
  sourcePort: number;
}

/** Ask a third member to probe `target` for us (SWIM ping-req). */
export interface IndirectPingMessage {
  type: 'indirectPing';
  seqNo: number;
  target: string;
  targetAddr: string;
  targetPort: number;
  /** Whether the requester wants a nack when the target does not answer (Lifeguard). */
  wantNack: boolean;
  source: string;
  sourceAddr: string;
  sourcePort: number;
}

export interface AckMessage {
  type: 'ack';
  seqNo: number;
  payload: Uint8Array;
}

/** Sent by an indirect prober whose probe timed out: "I am alive, the target did not answer". */
export interface NackMessage {
  type: 'nack';
  seqNo: number;
}

export interface SuspectMessage {
  type: 'suspect';
  incarnation: number;
  node: string;
  from: string;
}

export interface AliveMessage {
  type: 'alive';
  incarnation: number;
  node: string;
  addr: string;
  port: number;
  /** Opaque member metadata (carries the HTTP port), at most META_BYTES_MAX bytes. */
  meta: Uint8Array;
  protocol: ProtocolRange;
}

/** `from === node` means the member left gracefully (memberlist's convention); otherwise it failed. */
export interface DeadMessage {
  type: 'dead';
  incarnation: number;
  node: string;
  from: string;
}

export type MemberStateName = 'alive' | 'suspect' | 'dead' | 'left';

/** One member as exchanged in a push-pull full-state sync. */
export interface PushNodeState {
  name: string;
  addr: string;
  port: number;
  meta: Uint8Array;
  incarnation: number;
  state: MemberStateName;
  protocol: ProtocolRange;
}

/** Full-state exchange over TCP: sent on join and every push-pull interval. */
export interface PushPullMessage {
  type: 'pushPull';
  join: boolean;
  states: PushNodeState[];
}

export interface ErrMessage {
  type: 'err';
  error: string;
}

/** Several messages in one datagram (piggybacking). */
export interface CompoundMessage {
  type: 'compound';
  parts: Message[];
}

export type Message =
  | PingMessage
  | IndirectPingMessage
  | AckMessage
  | NackMessage
  | SuspectMessage
  | AliveMessage
  | DeadMessage
  | PushPullMessage
  | ErrMessage
  | CompoundMessage;
