/**
 * Node's Buffer has un-typed per-encoding slice/write methods (`latin1Slice`, `utf8Write`, ...)
 * that skip `toString`/`write`'s argument normalisation and encoding lookup. They have been
 * stable since Node 0.x and are what `toString`/`write` call internally. Cast, don't augment
 * the global Buffer type (that would leak into every consumer's types).
 */
export interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
}
