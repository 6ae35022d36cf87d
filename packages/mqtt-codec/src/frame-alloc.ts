/**
 * Output buffers for serialized packets.
 *
 * Below 4 KiB `Buffer.allocUnsafe` already carves buffers out of Node's shared 8 KiB pool.
 * From 4 KiB up every `allocUnsafe` creates its own ArrayBuffer, which costs about as much as
 * the whole serialization of a 4 KiB PUBLISH (measured: ~1.1 M/s against ~3.5 M/s from a slab).
 * So frames of 4 to 8 KiB are cut from a private 64 KiB slab, exactly like Node's pool does
 * for small buffers. The price is the same as Node's: a frame keeps its slab alive, so a frame
 * kept for a long time pins up to 64 KiB; copy it (`Buffer.from(frame)`) if that matters.
 * Frames are never reused or written again once handed out. Only `serialize` and
 * `withPacketId` (frames written to a socket and dropped) use the slab; `encodePublish`, whose
 * result a broker caches on a stored message, allocates exactly.
 */
const SLAB_SIZE = 64 * 1024;
const POOLED_MIN = 4 * 1024;
const POOLED_MAX = 8 * 1024;

let slab: Buffer | null = null;
let slabOffset = 0;

export function allocFrame(size: number): Buffer {
  if (size < POOLED_MIN || size > POOLED_MAX) return Buffer.allocUnsafe(size);
  if (slab === null || slabOffset + size > SLAB_SIZE) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabOffset = 0;
  }
  const frame = slab.subarray(slabOffset, slabOffset + size);
  slabOffset = (slabOffset + size + 7) & ~7;
  return frame;
}
