/* commentd proof of work: solves one ALTCHA challenge (SHA-256) in a Web Worker, off the page's
   main thread. Loaded by embed.js only when the server hands out a challenge (docs/moderation.md).
   In: {challenge, salt, maxnumber}. Out: {number} (null when no number up to maxnumber fits).
   SHA-256 is computed here, not with crypto.subtle: the salt's whole 64-byte blocks are hashed
   once, and each try then costs one block of compression with no promise in between. */
"use strict";
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const W = new Int32Array(64);

// One 64-byte block (the bytes at B[o..o+63]) into the state H.
const block = (H, B, o) => {
  for (let i = 0; i < 16; i++, o += 4) W[i] = B[o] << 24 | B[o + 1] << 16 | B[o + 2] << 8 | B[o + 3];
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15], y = W[i - 2];
    W[i] = ((x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ x >>> 3) + W[i - 7] +
      ((y >>> 17 | y << 15) ^ (y >>> 19 | y << 13) ^ y >>> 10) + W[i - 16] | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let i = 0; i < 64; i++) {
    const t = h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) + (e & f ^ ~e & g) + K[i] + W[i] | 0;
    const u = ((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) + (a & b ^ a & c ^ b & c) | 0;
    h = g; g = f; f = e; e = d + t | 0; d = c; c = b; b = a; a = t + u | 0;
  }
  H[0] += a; H[1] += b; H[2] += c; H[3] += d; H[4] += e; H[5] += f; H[6] += g; H[7] += h;
};

const solve = ({ challenge, salt, maxnumber }) => {
  const S = new TextEncoder().encode(salt), whole = S.length & ~63, rest = S.length - whole;
  const mid = new Int32Array(IV), H = new Int32Array(8), B = new Uint8Array(128), T = new Int32Array(8);
  for (let o = 0; o < whole; o += 64) block(mid, S, o);
  for (let i = 0; i < 8; i++) T[i] = parseInt(challenge.substr(i * 8, 8), 16) | 0;
  B.set(S.subarray(whole));
  for (let n = 0; n <= maxnumber; n++) {
    const s = "" + n, len = rest + s.length, end = len + 9 > 64 ? 128 : 64, bits = (whole + len) * 8;
    for (let i = 0; i < s.length; i++) B[rest + i] = s.charCodeAt(i);
    B[len] = 0x80;
    B.fill(0, len + 1, end - 4);
    B[end - 4] = bits >>> 24; B[end - 3] = bits >>> 16; B[end - 2] = bits >>> 8; B[end - 1] = bits;
    H.set(mid);
    block(H, B, 0);
    if (end > 64) block(H, B, 64);
    if (H[0] === T[0] && H[1] === T[1] && H[2] === T[2] && H[3] === T[3] && H[4] === T[4] &&
      H[5] === T[5] && H[6] === T[6] && H[7] === T[7]) return n;
  }
  return null;
};

onmessage = e => postMessage({ number: solve(e.data) });
