// What the HTTP API asks of the data layer. A single node answers from its own store; the
// replication coordinator answers the same calls for the whole cluster.

import type { Consistency } from '../config.js';
import type { Version } from '../store/version.js';

export interface ReadResult {
  value: Buffer;
  contentType: string;
  version: Version;
}

export interface PutRequest {
  key: string;
  value: Buffer;
  contentType: string;
  /** Time to live in milliseconds; undefined means the value never expires. */
  ttlMs: number | undefined;
  consistency: Consistency;
}

export interface ListRequest {
  prefix: string;
  after: string | undefined;
  limit: number;
}

export interface ListResult {
  keys: string[];
  /** The key after which the next page starts, or undefined when this was the last page. */
  resumeAfter: string | undefined;
}

export interface KvService {
  /** The live value, or undefined when the key is absent, deleted or expired. */
  get(key: string, consistency: Consistency): Promise<ReadResult | undefined>;
  put(request: PutRequest): Promise<Version>;
  /** Writes a tombstone; undefined (and nothing written) when there was no live value. */
  delete(key: string, consistency: Consistency): Promise<Version | undefined>;
  list(request: ListRequest): Promise<ListResult>;
}
