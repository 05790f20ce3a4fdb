// Web Worker of the waiting room: finds a nonce such that
// SHA-256(challenge + nonce) begins with `bits` zero bits (the contract's
// proof of work), off the page's thread. Message in: {challenge, bits};
// out: {progress: hashes tried} now and then, then {nonce, hashes, ms}.
// SHA-256 is written out here (synchronous, no allocation per hash):
// crypto.subtle answers one promise per hash, far too slow for this.
'use strict';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Int32Array(64);
const H = new Int32Array(8);

// sha256 hashes msg[0:len] (msg has room for the padding) into H.
function sha256(msg, len) {
  const total = ((len + 9 + 63) >> 6) << 6;
  msg.fill(0, len, total);
  msg[len] = 0x80;
  const bitLen = len * 8;
  msg[total - 4] = bitLen >>> 24; msg[total - 3] = bitLen >>> 16; msg[total - 2] = bitLen >>> 8; msg[total - 1] = bitLen;
  H[0] = 0x6a09e667; H[1] = 0xbb67ae85; H[2] = 0x3c6ef372; H[3] = 0xa54ff53a;
  H[4] = 0x510e527f; H[5] = 0x9b05688c; H[6] = 0x1f83d9ab; H[7] = 0x5be0cd19;
  for (let off = 0; off < total; off += 64) {
    for (let i = 0; i < 16; i++) {
      const j = off + i * 4;
      W[i] = (msg[j] << 24) | (msg[j + 1] << 16) | (msg[j + 2] << 8) | msg[j + 3];
    }
    for (let i = 16; i < 64; i++) {
      const a = W[i - 15], b = W[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
    H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
  }
}

// leadingZeroBits counts the zero bits H begins with, up to 64.
function leadingZeroBits() {
  if (H[0] !== 0) return Math.clz32(H[0]);
  return 32 + Math.clz32(H[1]);
}

self.onmessage = ev => {
  const {challenge, bits} = ev.data;
  const prefix = new TextEncoder().encode(challenge);
  const msg = new Uint8Array(prefix.length + 64 + 128);
  msg.set(prefix);
  const started = performance.now();
  for (let n = 0; ; n++) {
    // The nonce: n in decimal, printable ASCII as the contract asks.
    const digits = String(n);
    let len = prefix.length;
    for (let i = 0; i < digits.length; i++) msg[len++] = digits.charCodeAt(i);
    sha256(msg, len);
    if (leadingZeroBits() >= bits) {
      self.postMessage({nonce: digits, hashes: n + 1, ms: performance.now() - started});
      return;
    }
    if ((n & 0x3fff) === 0x3fff) self.postMessage({progress: n + 1});
  }
};
