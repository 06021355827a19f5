// Reads a request body as bytes with a hard limit. A declared Content-Length over the limit is
// refused before reading; a streamed body is cut off the moment it passes the limit.

import type { IncomingMessage } from 'node:http';
import { ShoalError } from '../errors.js';

export async function readRawBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    throw new ShoalError(
      'VALUE_TOO_LARGE',
      `the value is ${declared} bytes; the limit is ${limitBytes}`,
    );
  }
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > limitBytes) {
        throw new ShoalError(
          'VALUE_TOO_LARGE',
          `the value is over the limit of ${limitBytes} bytes`,
        );
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof ShoalError) throw err;
    // The client went away mid-body (aborted, reset): its error, not the node's.
    throw new ShoalError('BAD_BODY', `the request body was cut off: ${(err as Error).message}`);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
}
