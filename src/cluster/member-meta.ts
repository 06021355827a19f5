// Member metadata gossiped in alive messages: what peers and clients need to reach a member
// beyond its gossip address. A version byte first, so fields can be added later.

const META_FORMAT = 1;

export interface MemberMeta {
  httpPort: number;
}

export function encodeMeta(meta: MemberMeta): Uint8Array {
  const out = Buffer.alloc(3);
  out[0] = META_FORMAT;
  out.writeUInt16BE(meta.httpPort, 1);
  return out;
}

/** Unknown or short metadata decodes as httpPort 0 (unknown) rather than failing the member. */
export function decodeMeta(bytes: Uint8Array): MemberMeta {
  if (bytes.length < 3 || bytes[0] !== META_FORMAT) return { httpPort: 0 };
  return { httpPort: ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0) };
}
