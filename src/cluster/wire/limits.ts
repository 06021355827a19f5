// Every size the gossip wire format allows, in one place. A decoder checks each declared length
// against these before it reads or allocates anything, so a hostile or broken peer cannot make a
// node buffer unbounded data; an encoder refuses the same values, so we never send what a peer
// would have to drop.

/**
 * Bytes of one UDP datagram we send, label and encryption overhead included (memberlist's LAN
 * default). Stays under a 1500-byte Ethernet MTU minus IP/UDP headers and the overlay
 * encapsulation (VXLAN adds 50) that Kubernetes networks commonly use, so datagrams are not
 * fragmented. Compound packing fills datagrams up to this.
 */
export const PACKET_BYTES_MAX = 1400;

/** Member name (Kubernetes pod names are DNS labels of at most 63; 255 leaves room). u8 prefix. */
export const NAME_BYTES_MAX = 255;

/** Advertised address: an IP in text form, or a host name (at most 253 in DNS). u8 prefix. */
export const ADDR_BYTES_MAX = 255;

/** Opaque member metadata (carries the HTTP port); small because it rides in every alive. */
export const META_BYTES_MAX = 512;

/** Ack payload (memberlist uses it for the target's metadata); same budget as meta. */
export const ACK_PAYLOAD_BYTES_MAX = 512;

/** Text of an err message: enough for a sentence, small enough to fit a datagram. u16 prefix. */
export const ERROR_TEXT_BYTES_MAX = 1024;

/** Cluster-name label on every packet and stream (memberlist's limit). u8 prefix. */
export const LABEL_BYTES_MAX = 255;

/** Parts of one compound message: the count is a u8. */
export const COMPOUND_PARTS_MAX = 255;

/** One part of a compound message: its length is a u16. */
export const COMPOUND_PART_BYTES_MAX = 65_535;

/** Compound header: type byte and part count. */
export const COMPOUND_HEADER_BYTES = 2;

/** Each compound part costs its u16 length on top of its own bytes. */
export const COMPOUND_PART_OVERHEAD_BYTES = 2;

/**
 * Members in one push-pull exchange. Sized so that a push-pull whose every field is at its limit
 * (about 1,036 bytes per member) still fits one stream frame with label and encryption overhead:
 * 8,000 x 1,036 = 8.3 MB < STREAM_FRAME_BYTES_MAX. Far above any cluster this store is meant for.
 */
export const PUSH_PULL_STATES_MAX = 8_000;

/**
 * Payload of one length-prefixed frame on a TCP stream. A peer that declares more is cut off
 * before we buffer any of it; this is the most one connection can make us hold.
 */
export const STREAM_FRAME_BYTES_MAX = 8 * 1024 * 1024;

/**
 * Bytes one side of a stream connection lets wait in its socket before it holds back (replies) or
 * refuses more (requests): two of the largest frames, so one large frame never stalls the next.
 */
export const STREAM_UNSENT_BYTES_MAX = 2 * STREAM_FRAME_BYTES_MAX;

/** The u32 length in front of every stream frame. */
export const STREAM_FRAME_HEADER_BYTES = 4;
