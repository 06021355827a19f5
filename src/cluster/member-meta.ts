// Member metadata gossiped in alive messages: what peers and clients need to reach a member
// beyond its gossip address, and the settings every member must share to place keys alike
// (partition count, replication factor). A version byte first; new fields are appended, so a
// reader that knows fewer of them still reads the ones it knows.
//
//   u8 1, u16 httpPort                                   (the first build: HTTP port only)
//   u8 1, u16 httpPort, u32 partitions, u16 replicationFactor

const META_FORMAT = 1;
const HTTP_ONLY_BYTES = 3;
const META_BYTES = 9;

interface MemberMeta {
  httpPort: number;
  /** 0 when the member does not say (the first build). */
  partitions: number;
  /** 0 when the member does not say (the first build). */
  replicationFactor: number;
}

export function encodeMeta(meta: MemberMeta): Uint8Array {
  const out = Buffer.alloc(META_BYTES);
  out[0] = META_FORMAT;
  out.writeUInt16BE(meta.httpPort, 1);
  out.writeUInt32BE(meta.partitions, 3);
  out.writeUInt16BE(meta.replicationFactor, 7);
  return out;
}

/** Unknown or short metadata decodes as zeros (unknown) rather than failing the member. */
export function decodeMeta(bytes: Uint8Array): MemberMeta {
  const unknown = { httpPort: 0, partitions: 0, replicationFactor: 0 };
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HTTP_ONLY_BYTES || buf[0] !== META_FORMAT) return unknown;
  const httpPort = buf.readUInt16BE(1);
  if (buf.length < META_BYTES) return { ...unknown, httpPort };
  return {
    httpPort,
    partitions: buf.readUInt32BE(3),
    replicationFactor: buf.readUInt16BE(7),
  };
}
