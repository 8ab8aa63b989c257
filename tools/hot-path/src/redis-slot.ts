/**
 * Redis Cluster's key slot, computed here as the server computes it (CRC16-XMODEM of the key,
 * or of its hash tag — the part between the first `{` and the next `}`, when not empty — modulo
 * 16384). The stores group the work of one event-loop turn by the node holding each slot
 * (cluster-node-batches.ts), and split a multi-key command by slot.
 */

const TABLE = buildTable();

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
}

function crc16(bytes: Uint8Array, from: number, to: number): number {
  let crc = 0;
  for (let i = from; i < to; i++)
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ (bytes[i] as number)) & 0xff] as number);
  return crc;
}

const encoder = new TextEncoder();

/** The slot (0–16383) Redis Cluster stores `key` in. */
export function redisSlot(key: string): number {
  // Our storage keys are ASCII (user input is percent-encoded): hashed from the string itself,
  // without encoding it to bytes first. Anything else goes through UTF-8 bytes.
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0x7f) return slotOfBytes(encoder.encode(key));
  let from = 0;
  let to = key.length;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    // An empty tag ('{}') is no tag: the whole key is hashed.
    if (close > open + 1) {
      from = open + 1;
      to = close;
    }
  }
  let crc = 0;
  for (let i = from; i < to; i++)
    crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ key.charCodeAt(i)) & 0xff] as number);
  return crc & 16383;
}

function slotOfBytes(bytes: Uint8Array): number {
  let from = 0;
  let to = bytes.length;
  const open = bytes.indexOf(0x7b); // '{'
  if (open >= 0) {
    const close = bytes.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) {
      from = open + 1;
      to = close;
    }
  }
  return crc16(bytes, from, to) & 16383;
}
