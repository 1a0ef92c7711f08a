/* MD5 of many messages at once, one message per SIMD lane (multi-buffer MD5).
 *
 * Why by hand: MD5 cannot be split within one message (each 64-byte block needs the state the one before
 * left), so OpenSSL's MD5 runs at about 740 MiB/s a core however many cores there are, and a delivery's
 * inventory spends most of its time there. Independent messages can share a core's vector unit instead: 16
 * lanes of 32 bits with AVX-512, 8 with AVX2, 4 with SSE2. No maintained Python library offers this (minio's
 * md5-simd is Go, ISA-L's md5_mb is C without a Debian package for bookworm, md5-many is a Rust alpha), so
 * this file is RFC 1321's compression function written once over GCC's vector types; the compiler emits
 * one version per instruction set (target_clones) and the loader picks the CPU's best. It is loaded with
 * ctypes (apps/storage/md5lanes.py), which releases the GIL for the call, and checked against hashlib on
 * every length from 0 to 300 bytes and on lanes of unequal lengths (tests/storage/test_md5lanes.py).
 *
 * md5_blocks(states, blocks, counts, n): for lane i < n, run counts[i] 64-byte blocks starting at
 * blocks[i] through the state states[4*i .. 4*i+3] (A, B, C, D). Padding and the final length are the
 * caller's (the blocks are whole). Lanes are taken 16 at a time; a lane with fewer blocks than the
 * others of its group keeps its state once it is done (masked), and reads a block of zeros meanwhile.
 * Little-endian machines only (the loader checks).
 */
#include <stdint.h>
#include <string.h>

#define LANES 16
typedef uint32_t v16 __attribute__((vector_size(LANES * 4)));

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t ZEROS[64];

#define ROTL(x, c) (((x) << (c)) | ((x) >> (32 - (c))))
#define F(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define G(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define H(b, c, d) ((b) ^ (c) ^ (d))
#define I(b, c, d) ((c) ^ ((b) | ~(d)))
#define STEP(f, a, b, c, d, i, g, s) a = b + ROTL(a + f(b, c, d) + K[i] + w[g], s)

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES /* elsewhere (aarch64: NEON) the compiler's default vector width */
#endif

CLONES
static void group(uint32_t *states, const uint8_t *const *blocks, const uint64_t *counts, int n)
{
    v16 a0, b0, c0, d0;
    uint64_t most = 0;
    for (int l = 0; l < LANES; l++) {
        int on = l < n;
        a0[l] = on ? states[4 * l] : 0;
        b0[l] = on ? states[4 * l + 1] : 0;
        c0[l] = on ? states[4 * l + 2] : 0;
        d0[l] = on ? states[4 * l + 3] : 0;
        if (on && counts[l] > most)
            most = counts[l];
    }
    for (uint64_t k = 0; k < most; k++) {
        v16 w[16], live;
        uint32_t words[LANES][16];
        for (int l = 0; l < LANES; l++) {
            int on = l < n && k < counts[l];
            live[l] = on ? 0xffffffffu : 0;
            memcpy(words[l], on ? blocks[l] + 64 * k : ZEROS, 64);
        }
        for (int j = 0; j < 16; j++)
            for (int l = 0; l < LANES; l++)
                w[j][l] = words[l][j];
        v16 a = a0, b = b0, c = c0, d = d0;
        STEP(F, a, b, c, d, 0, 0, 7);   STEP(F, d, a, b, c, 1, 1, 12);  STEP(F, c, d, a, b, 2, 2, 17);  STEP(F, b, c, d, a, 3, 3, 22);
        STEP(F, a, b, c, d, 4, 4, 7);   STEP(F, d, a, b, c, 5, 5, 12);  STEP(F, c, d, a, b, 6, 6, 17);  STEP(F, b, c, d, a, 7, 7, 22);
        STEP(F, a, b, c, d, 8, 8, 7);   STEP(F, d, a, b, c, 9, 9, 12);  STEP(F, c, d, a, b, 10, 10, 17); STEP(F, b, c, d, a, 11, 11, 22);
        STEP(F, a, b, c, d, 12, 12, 7); STEP(F, d, a, b, c, 13, 13, 12); STEP(F, c, d, a, b, 14, 14, 17); STEP(F, b, c, d, a, 15, 15, 22);
        STEP(G, a, b, c, d, 16, 1, 5);  STEP(G, d, a, b, c, 17, 6, 9);  STEP(G, c, d, a, b, 18, 11, 14); STEP(G, b, c, d, a, 19, 0, 20);
        STEP(G, a, b, c, d, 20, 5, 5);  STEP(G, d, a, b, c, 21, 10, 9); STEP(G, c, d, a, b, 22, 15, 14); STEP(G, b, c, d, a, 23, 4, 20);
        STEP(G, a, b, c, d, 24, 9, 5);  STEP(G, d, a, b, c, 25, 14, 9); STEP(G, c, d, a, b, 26, 3, 14);  STEP(G, b, c, d, a, 27, 8, 20);
        STEP(G, a, b, c, d, 28, 13, 5); STEP(G, d, a, b, c, 29, 2, 9);  STEP(G, c, d, a, b, 30, 7, 14);  STEP(G, b, c, d, a, 31, 12, 20);
        STEP(H, a, b, c, d, 32, 5, 4);  STEP(H, d, a, b, c, 33, 8, 11); STEP(H, c, d, a, b, 34, 11, 16); STEP(H, b, c, d, a, 35, 14, 23);
        STEP(H, a, b, c, d, 36, 1, 4);  STEP(H, d, a, b, c, 37, 4, 11); STEP(H, c, d, a, b, 38, 7, 16);  STEP(H, b, c, d, a, 39, 10, 23);
        STEP(H, a, b, c, d, 40, 13, 4); STEP(H, d, a, b, c, 41, 0, 11); STEP(H, c, d, a, b, 42, 3, 16);  STEP(H, b, c, d, a, 43, 6, 23);
        STEP(H, a, b, c, d, 44, 9, 4);  STEP(H, d, a, b, c, 45, 12, 11); STEP(H, c, d, a, b, 46, 15, 16); STEP(H, b, c, d, a, 47, 2, 23);
        STEP(I, a, b, c, d, 48, 0, 6);  STEP(I, d, a, b, c, 49, 7, 10); STEP(I, c, d, a, b, 50, 14, 15); STEP(I, b, c, d, a, 51, 5, 21);
        STEP(I, a, b, c, d, 52, 12, 6); STEP(I, d, a, b, c, 53, 3, 10); STEP(I, c, d, a, b, 54, 10, 15); STEP(I, b, c, d, a, 55, 1, 21);
        STEP(I, a, b, c, d, 56, 8, 6);  STEP(I, d, a, b, c, 57, 15, 10); STEP(I, c, d, a, b, 58, 6, 15);  STEP(I, b, c, d, a, 59, 13, 21);
        STEP(I, a, b, c, d, 60, 4, 6);  STEP(I, d, a, b, c, 61, 11, 10); STEP(I, c, d, a, b, 62, 2, 15);  STEP(I, b, c, d, a, 63, 9, 21);
        a0 += a & live;
        b0 += b & live;
        c0 += c & live;
        d0 += d & live;
    }
    for (int l = 0; l < n && l < LANES; l++) {
        states[4 * l] = a0[l];
        states[4 * l + 1] = b0[l];
        states[4 * l + 2] = c0[l];
        states[4 * l + 3] = d0[l];
    }
}

void md5_blocks(uint32_t *states, const uint8_t *const *blocks, const uint64_t *counts, int n)
{
    for (int first = 0; first < n; first += LANES) {
        int here = n - first < LANES ? n - first : LANES;
        group(states + 4 * first, blocks + first, counts + first, here);
    }
}
