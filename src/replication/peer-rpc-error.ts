// The one error a peer RPC call rejects with. The code says what the caller can do about it:
// PEER_UNREACHABLE and PEER_TIMEOUT mean "try another replica", PEER_OVERLOADED means "this peer
// already has too much of ours in flight", PEER_ERROR carries the peer's own error (its code in
// `remoteCode`), PEER_PROTOCOL means the bytes on the wire made no sense.

export type PeerRpcErrorCode =
  /** No connection could be made, or it broke before the reply arrived. */
  | 'PEER_UNREACHABLE'
  /** No reply within the request's deadline; the connection stays up for other requests. */
  | 'PEER_TIMEOUT'
  /** Too many calls to this peer are already waiting for replies; nothing was sent. */
  | 'PEER_OVERLOADED'
  /** The peer answered with an error (unknown method, handler failure). */
  | 'PEER_ERROR'
  /** A frame that could not be encoded, decoded or opened, on either side. */
  | 'PEER_PROTOCOL';

export class PeerRpcError extends Error {
  readonly code: PeerRpcErrorCode;
  /** For PEER_ERROR: the code the peer put in its error reply. */
  readonly remoteCode: string | undefined;
  /** For PEER_UNREACHABLE: the peer's address refused the connection (nothing listens there). */
  readonly refused: boolean;

  constructor(code: PeerRpcErrorCode, message: string, remoteCode?: string, refused = false) {
    super(message);
    this.name = 'PeerRpcError';
    this.code = code;
    this.remoteCode = remoteCode;
    this.refused = refused;
  }
}

export function isPeerRpcError(err: unknown): err is PeerRpcError {
  return err instanceof PeerRpcError;
}
