/* One block of NMEA 0183 read in one pass: sentences, checksums, fields, epochs (apps/navigation/nmeascan.py).
 *
 * Why by hand: the reader's numpy version (apps/navigation/reader.py, _nmea_block) runs a few dozen
 * vectorised passes over each block and tops out near 500,000 epochs a second; the issue asks for 20x a
 * line-by-line parser (about 1.6 million here). No maintained library reads NMEA in bulk (pynmea2 and
 * pynmeagps build one Python object per sentence), so this is the numpy version's rules, written once
 * more as one sequential pass over the bytes: the same counts, the same fixes, bit for bit (the numpy
 * version stays as the fallback and as the reference: tests/navigation/test_nmeascan.py compares the two
 * on clean, dirty and random files). Every rule below names the numpy function it mirrors.
 *
 * nmea_block(ctx, buf, n, state, counts, cap, out...): read buf[0:n] (at least 256 zero bytes follow it),
 * add to counts[] (the order of COUNT_NAMES in nmeascan.py), update state[] (the latest date and the time of
 * day it was written at, carried from block to block) and write one row per epoch into the out arrays
 * (capacity cap, at least n / 7 + 1). Returns the number of epochs. Floating point follows the numpy
 * version's operations one for one, so it is built with -ffp-contract=off (no fused multiply-add).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ORDINARY, DOLLAR, BANG, STAR, NL, CR, BINARY };
enum { GGA, GNS, RMC, GLL, ZDA };
enum {
    N_BINARY, N_LINES, N_COMMENT, N_SENTENCES, N_PROPRIETARY, N_AIS, N_MALFORMED, N_RUN_TOGETHER,
    N_VALID, N_BAD, N_NOSUM, N_GGA, N_GNS, N_RMC, N_GLL, N_ZDA, N_VTG, N_HDT, N_TRUNCATED,
    N_IMPOSSIBLE, N_ZDA_NO_DATE, N_COUNTS
};
#define MOST_COMMAS 11 /* the fields read are at most the 9th (RMC's date): its end is the 10th comma */

static const int MIN_FIELDS[4] = {9, 8, 9, 4};
static const int TIME_FIELD[4] = {1, 1, 1, 5};
static uint8_t CLASS[256];
static int8_t HEX[256];
static int64_t POW10[19];
static double POW10F[19];

__attribute__((constructor)) static void init(void) {
    /* Special bytes as the numpy version finds them: below ',' as a signed byte (so 0x80-0xFF too), by a
     * table; tab, space and the other printable ones below ',' are ordinary, and so is DEL (127). */
    for (int c = 0; c < 256; c++) {
        CLASS[c] = ((c < 32 && c != 9 && c != 10 && c != 13) || c >= 128) ? BINARY : ORDINARY;
        HEX[c] = -1;
    }
    CLASS['$'] = DOLLAR, CLASS['!'] = BANG, CLASS['*'] = STAR, CLASS['\n'] = NL, CLASS['\r'] = CR;
    for (int i = 0; i < 10; i++) HEX['0' + i] = (int8_t)i;
    for (int i = 0; i < 6; i++) HEX['A' + i] = HEX['a' + i] = (int8_t)(10 + i);
    int64_t p = 1;
    for (int i = 0; i < 19; i++, p *= 10) POW10[i] = p, POW10F[i] = (double)p;
}

/* Eight bytes at a time (SWAR): which may be special, which are commas. Exact per byte: no carry crosses a
 * byte. The block is followed by zero bytes, which are special, so a word never looks past the block's
 * end without finding one. */
#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static inline uint64_t load64(const uint8_t *p) {
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* 0x80 in each byte below ',' or at 0x80 and above: the candidates the table then decides. */
static inline uint64_t maybe_special(uint64_t x) {
    uint64_t y = (x & ~HIGHS) + 0x54 * ONES; /* high bit set where (byte & 0x7F) >= 44 */
    return (~y | x) & HIGHS;
}

static inline uint64_t commas_in(uint64_t x) {
    uint64_t t = x ^ (0x2C * ONES);
    return ~(((t & ~HIGHS) + ~HIGHS) | t) & HIGHS;
}

static inline uint8_t fold(uint64_t x) {
    x ^= x >> 32, x ^= x >> 16, x ^= x >> 8;
    return (uint8_t)x;
}

typedef struct {
    int64_t start, body_end, line_start;
    double tod;  /* the time field of a position sentence (NaN when absent or impossible; ZDA: NaN) */
    int64_t day; /* RMC's date, ZDA's when the block needs it (days since 1970), else -1 */
    double logger; /* the logger's time, once read (logger_read) */
    int32_t off[MOST_COMMAS];
    int32_t nf;
    int8_t kind, logger_read;
} row_t;

/* A logger's date (its first ten characters) changes once a day: the last one read is kept. */
typedef struct {
    uint8_t text[10];
    int valid, iso, scs;
    int64_t days;
} date_cache_t;

typedef struct {
    int64_t first, len, rep, own;
} epoch_t;

typedef struct {
    row_t *rows;
    int64_t *pos, *dated_before;
    epoch_t *epochs;
    int64_t cap;
    date_cache_t logger_date;
} ctx_t;

void *nmea_new(void) { return calloc(1, sizeof(ctx_t)); }

void nmea_free(void *p) {
    ctx_t *ctx = p;
    if (!ctx) return;
    free(ctx->rows), free(ctx->pos), free(ctx->dated_before), free(ctx->epochs), free(ctx);
}

static int reserve(ctx_t *ctx, int64_t need) {
    if (need <= ctx->cap) return 1;
    int64_t cap = need + need / 2 + 64;
    row_t *rows = realloc(ctx->rows, cap * sizeof(row_t));
    if (rows) ctx->rows = rows;
    int64_t *pos = realloc(ctx->pos, cap * sizeof(int64_t));
    if (pos) ctx->pos = pos;
    int64_t *db = realloc(ctx->dated_before, cap * sizeof(int64_t));
    if (db) ctx->dated_before = db;
    epoch_t *ep = realloc(ctx->epochs, cap * sizeof(epoch_t));
    if (ep) ctx->epochs = ep;
    if (!rows || !pos || !db || !ep) return 0;
    ctx->cap = cap;
    return 1;
}

/* --- fields (reader._numbers, _angle, _time_of_day, _integer, _float, days_from_civil) ------------- */

typedef struct {
    int64_t mant;
    int dec, dot, ok;
} number_t;

/* An unsigned decimal number of 1 to 16 characters, at most one dot, at least one digit. */
static inline number_t number(const uint8_t *b, int64_t fs, int64_t fe) {
    number_t r = {0, 0, 0, 0};
    int64_t len = fe - fs;
    if (len <= 0 || len > 16) return r;
    int dot = (int)len, ndot = 0;
    int64_t m = 0;
    for (int k = 0; k < len; k++) {
        unsigned c = b[fs + k];
        if (c == '.') {
            if (ndot++) return r;
            dot = k;
        } else {
            unsigned d = c - '0';
            if (d > 9) return r;
            m = m * 10 + d;
        }
    }
    if (len - ndot == 0) return r;
    r.mant = m, r.dot = dot, r.dec = ndot ? (int)len - dot - 1 : 0, r.ok = 1;
    return r;
}

static inline int imin(int a, int b) { return a < b ? a : b; }

static inline double value_of(int64_t mant, int dec) { return (double)mant / POW10F[imin(dec, 18)]; }

static inline double float_field(const uint8_t *b, int64_t fs, int64_t fe) {
    number_t x = number(b, fs, fe);
    return x.ok ? value_of(x.mant, x.dec) : NAN;
}

/* A small unsigned integer (1 to 6 digits), else -1. */
static inline int64_t integer_field(const uint8_t *b, int64_t fs, int64_t fe) {
    int64_t len = fe - fs;
    if (len <= 0 || len > 6) return -1;
    int64_t v = 0;
    for (int64_t k = 0; k < len; k++) {
        unsigned d = (unsigned)b[fs + k] - '0';
        if (d > 9) return -1;
        v = v * 10 + d;
    }
    return v;
}

static inline int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static inline int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static inline double time_of_day(const uint8_t *b, int64_t fs, int64_t fe) {
    number_t x = number(b, fs, fe);
    if (!x.ok || x.dot != 6 || fe - fs < 6) return NAN;
    int64_t scale = POW10[imin(x.dec, 12)];
    int64_t hhmmss = x.mant / scale, frac = x.mant % scale;
    int64_t hh = hhmmss / 10000, mm = hhmmss / 100 % 100, ss = hhmmss % 100;
    if (hh >= 24 || mm >= 60 || ss >= 61) return NAN;
    return (double)(hh * 3600 + mm * 60 + ss) + (double)frac / POW10F[imin(x.dec, 18)];
}

/* ddmm.mmmm / dddmm.mmmm plus N/S or E/W: signed degrees; *ok says whether it was possible. */
static inline double angle(const uint8_t *b, int64_t fs, int64_t fe, int64_t hs, int64_t he, int degree_digits,
                           double limit, int *ok) {
    number_t x = number(b, fs, fe);
    *ok = 0;
    if (!x.ok || x.dot != degree_digits + 2) return NAN;
    int64_t scale = 100 * POW10[imin(x.dec, 16)];
    int64_t degrees = x.mant / scale;
    double minutes = value_of(x.mant % scale, x.dec);
    double value = (double)degrees + minutes / 60.0;
    int has = he - hs == 1;
    uint8_t h = b[hs];
    int south = has && (h == 'S' || h == 'W'), north = has && (h == 'N' || h == 'E');
    if (!(south || north) || !(minutes < 60) || !(value <= limit)) return NAN;
    *ok = 1;
    return south ? -value : value;
}

/* Field j (1-based) of a sentence: [fs, fe), empty (0, 0) where it is absent. */
static inline void field(const row_t *r, int j, int64_t *fs, int64_t *fe) {
    if (j <= r->nf) {
        *fs = r->start + r->off[j - 1] + 1;
        *fe = j < r->nf ? r->start + r->off[j] : r->body_end;
    } else {
        *fs = *fe = 0;
    }
}

static inline double field_time(const uint8_t *b, const row_t *r, int j) {
    int64_t fs, fe;
    field(r, j, &fs, &fe);
    return time_of_day(b, fs, fe);
}

/* --- logger prefixes (reader._logger_times) -------------------------------------------------------- */

static inline int digits(const uint8_t *c, int from, int to, int32_t *value) {
    int32_t v = 0;
    int ok = 1;
    for (int j = from; j <= to; j++) {
        int32_t d = (int32_t)c[j] - 48;
        ok &= d >= 0 && d <= 9;
        v = v * 10 + d;
    }
    *value = v;
    return ok;
}

static void logger_date(const uint8_t *c, date_cache_t *dc) {
    if (dc->valid && !memcmp(dc->text, c, 10)) return;
    int32_t y = 0, mo = 0, d = 0;
    int iso = c[4] == '-' && c[7] == '-', scs = c[2] == '/' && c[5] == '/';
    if (iso) {
        iso = digits(c, 0, 3, &y) & digits(c, 5, 6, &mo) & digits(c, 8, 9, &d);
    } else if (scs) {
        scs = digits(c, 0, 1, &mo) & digits(c, 3, 4, &d) & digits(c, 6, 9, &y);
    }
    int ok = (iso || scs) && mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
    memcpy(dc->text, c, 10);
    dc->valid = 1, dc->iso = ok && iso, dc->scs = ok && scs;
    dc->days = ok ? days_from_civil(y, mo, d) : 0;
}

static double logger_at(const uint8_t *c, date_cache_t *dc) {
    int32_t hh, mi, ss;
    logger_date(c, dc);
    int iso = dc->iso && (c[10] == 'T' || c[10] == ' ');
    int scs = dc->scs && c[10] == ',';
    if (!(iso || scs) || c[13] != ':' || c[16] != ':') return NAN;
    if (!(digits(c, 11, 12, &hh) & digits(c, 14, 15, &mi) & digits(c, 17, 18, &ss))) return NAN;
    if (hh >= 24 || mi >= 60 || ss >= 61) return NAN;
    double frac = 0.0, scale = 0.1;
    if (c[19] == '.') {
        for (int j = 20; j < 29; j++) {
            int64_t digit = (int64_t)c[j] - 48;
            if (digit < 0 || digit > 9) break;
            frac += (double)digit * scale;
            scale /= 10;
        }
    }
    return (double)(dc->days * 86400 + hh * 3600 + mi * 60 + ss) + frac;
}

/* The logger's time before a sentence: a prefix of at least 19 characters from the line's start, or after
 * its first space ("<data id> <ISO time> $..."). */
static double logger_time(const uint8_t *b, row_t *r, date_cache_t *dc) {
    if (r->logger_read) return r->logger;
    double t = NAN;
    int64_t ls = r->line_start, st = r->start;
    if (st - ls >= 19) {
        t = logger_at(b + ls, dc);
        if (isnan(t)) {
            int space = 0;
            while (space < 24 && b[ls + space] != ' ') space++;
            if (space == 24) space = 0;
            int found = b[ls + space] == ' ' && ls + space + 19 < st;
            t = found ? logger_at(b + ls + space + 1, dc) : NAN;
        }
    }
    r->logger = t, r->logger_read = 1;
    return t;
}

/* --- positions (read_positions in reader._nmea_block) ---------------------------------------------- */

typedef struct {
    double lat, lon, hdop;
    int64_t quality, nsat;
    int impossible;
} position_t;

static position_t read_position(const uint8_t *b, const row_t *r) {
    static const int JLAT[4] = {2, 2, 3, 1};
    position_t p = {NAN, NAN, NAN, -1, -1, 0};
    int k = r->kind, j = JLAT[k];
    int64_t la0, la1, lah0, lah1, lo0, lo1, loh0, loh1, fs, fe;
    field(r, j, &la0, &la1), field(r, j + 1, &lah0, &lah1);
    field(r, j + 2, &lo0, &lo1), field(r, j + 3, &loh0, &loh1);
    int lat_ok, lon_ok;
    p.lat = angle(b, la0, la1, lah0, lah1, 2, 90.0, &lat_ok);
    p.lon = angle(b, lo0, lo1, loh0, loh1, 3, 180.0, &lon_ok);
    int written = la1 > la0 && lo1 > lo0 && r->nf >= MIN_FIELDS[k];
    p.impossible = written && !(lat_ok && lon_ok);
    if (k == GGA) {
        field(r, 6, &fs, &fe), p.quality = integer_field(b, fs, fe);
        field(r, 7, &fs, &fe), p.nsat = integer_field(b, fs, fe);
        field(r, 8, &fs, &fe), p.hdop = float_field(b, fs, fe);
    } else if (k == GNS) {
        field(r, 6, &fs, &fe);
        int64_t q = -1;
        if (fe > fs) {
            static const char MODES[] = "NADPRFE"; /* GNS mode indicator -> GGA quality code */
            for (int i = 0; i < 7; i++)
                if (b[fs] == (uint8_t)MODES[i]) q = i;
        }
        p.quality = q;
        field(r, 7, &fs, &fe), p.nsat = integer_field(b, fs, fe);
        field(r, 8, &fs, &fe), p.hdop = float_field(b, fs, fe);
    } else { /* RMC status (field 2) / GLL status (field 6, NMEA 2.x): V = no fix */
        field(r, k == RMC ? 2 : 6, &fs, &fe);
        p.quality = (fe > fs && b[fs] == 'V') ? 0 : -1;
    }
    return p;
}

static int64_t rmc_day(const uint8_t *b, const row_t *r) {
    int64_t fs, fe;
    field(r, 9, &fs, &fe);
    int64_t v = integer_field(b, fs, fe);
    if (v < 0 || fe - fs != 6) return -1;
    int64_t dd = v / 10000, mo = v / 100 % 100, yy = v % 100;
    if (dd < 1 || dd > 31 || mo < 1 || mo > 12) return -1;
    return days_from_civil(yy < 80 ? 2000 + yy : 1900 + yy, mo, dd);
}

static int64_t zda_day(const uint8_t *b, const row_t *r) {
    int64_t fs, fe;
    field(r, 2, &fs, &fe);
    int64_t dd = integer_field(b, fs, fe);
    field(r, 3, &fs, &fe);
    int64_t mo = integer_field(b, fs, fe);
    field(r, 4, &fs, &fe);
    int64_t yyyy = integer_field(b, fs, fe);
    if (dd < 1 || dd > 31 || mo < 1 || mo > 12 || yyyy < 1980) return -1;
    return days_from_civil(yyyy, mo, dd);
}

/* --- the block ------------------------------------------------------------------------------------- */

static inline int upper_or_digit(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

#define CODE(a, b, c) (((uint32_t)(a) << 16) | ((uint32_t)(b) << 8) | (uint32_t)(c))

/* Pass one: every sentence start, its checksum and address; the rows the epochs are made of (position
 * sentences and ZDA with a good or no checksum). Returns the number of rows, -1 without memory. */
static int64_t scan(ctx_t *ctx, const uint8_t *b, int64_t n, int64_t *counts) {
    int64_t m = 0, nl = 0, line_start = 0, prev_line = -1;
    int64_t tod_at = 0, tod_len = -1, day_at = 0, day_len = -1, day = -1;
    double tod = NAN;
    int prev_recognised = 0;
    if (n > 0 && (b[0] == '#' || b[0] == ';')) counts[N_COMMENT]++;
    int64_t i = 0;
    while (i < n) {
        uint64_t cand = maybe_special(load64(b + i));
        if (!cand) {
            i += 8;
            continue;
        }
        i += __builtin_ctzll(cand) >> 3;
        if (i >= n) break;
        uint8_t k = CLASS[b[i]];
        if (k == ORDINARY) {
            i++;
            continue;
        }
        if (k == NL) {
            nl++, line_start = i + 1;
            if (i + 1 < n && (b[i + 1] == '#' || b[i + 1] == ';')) counts[N_COMMENT]++;
            i++;
            continue;
        }
        if (k == BINARY) counts[N_BINARY]++;
        if (k != DOLLAR && k != BANG) {
            i++;
            continue;
        }
        /* A sentence start: its body runs to the next special byte; its commas and XOR on the way. */
        int64_t s = i, j = s + 1;
        uint64_t x64 = 0;
        int32_t off[MOST_COMMAS];
        int32_t nc = 0;
        for (;;) {
            uint64_t w = load64(b + j), cand = maybe_special(w), take = ~0ULL;
            int k = 8;
            if (cand) {
                k = __builtin_ctzll(cand) >> 3;
                take = k ? ~0ULL >> (64 - 8 * k) : 0; /* the bytes before the candidate */
            }
            x64 ^= w & take;
            for (uint64_t cm = commas_in(w) & take; cm; cm &= cm - 1) {
                if (nc < MOST_COMMAS) off[nc] = (int32_t)(j + (__builtin_ctzll(cm) >> 3) - s);
                nc++;
            }
            j += k;
            if (k == 8) continue;
            if (j >= n || CLASS[b[j]]) break;
            x64 ^= b[j++]; /* an ordinary byte below ',' (a space, '#', ...): part of the body */
        }
        if (j > n) j = n;
        uint8_t x = fold(x64);
        int64_t body_end = j, ends = j;
        int has_star = j < n && CLASS[b[j]] == STAR;
        if (has_star) {
            for (ends = j + 1; ends < n && !CLASS[b[ends]]; ends++) {
            }
        }
        const uint8_t *a = b + s + 1;
        int is_dollar = b[s] == '$';
        int standard = upper_or_digit(a[0]) && upper_or_digit(a[1]) && upper_or_digit(a[2]) &&
                       upper_or_digit(a[3]) && upper_or_digit(a[4]) && a[5] == ',' && s + 6 < ends;
        int proprietary = is_dollar && a[0] == 'P' && a[1] >= 'A' && a[1] <= 'Z';
        int ais = !is_dollar && standard;
        standard = standard && is_dollar && !proprietary;
        int recognised = standard || proprietary || ais;
        counts[N_SENTENCES] += recognised, counts[N_PROPRIETARY] += proprietary, counts[N_AIS] += ais;
        counts[N_MALFORMED] += !recognised;
        counts[N_RUN_TOGETHER] += prev_line == nl && recognised && prev_recognised;
        prev_line = nl, prev_recognised = recognised;
        int hi = HEX[b[body_end + 1]], lo = HEX[b[body_end + 2]];
        int valid = has_star && hi >= 0 && lo >= 0 && body_end + 3 <= ends && x == hi * 16 + lo;
        int bad = has_star && !valid;
        if (recognised) counts[N_VALID] += valid, counts[N_BAD] += bad, counts[N_NOSUM] += !has_star;
        i = body_end;
        if (!standard) continue;
        int kind = -1;
        switch (CODE(a[2], a[3], a[4])) {
        case CODE('G', 'G', 'A'): kind = GGA, counts[N_GGA]++; break;
        case CODE('G', 'N', 'S'): kind = GNS, counts[N_GNS]++; break;
        case CODE('R', 'M', 'C'): kind = RMC, counts[N_RMC]++; break;
        case CODE('G', 'L', 'L'): kind = GLL, counts[N_GLL]++; break;
        case CODE('Z', 'D', 'A'): kind = ZDA, counts[N_ZDA]++; break;
        case CODE('V', 'T', 'G'): counts[N_VTG]++; break;
        case CODE('H', 'D', 'T'): counts[N_HDT]++; break;
        }
        if (kind < 0 || bad) continue;
        if (m == ctx->cap && !reserve(ctx, m + 1)) return -1;
        row_t *r = &ctx->rows[m++];
        r->start = s, r->body_end = body_end, r->line_start = line_start, r->nf = nc;
        r->kind = (int8_t)kind, r->logger_read = 0, r->day = -1, r->tod = NAN;
        memcpy(r->off, off, sizeof(int32_t) * (size_t)imin(nc, MOST_COMMAS));
        if (kind == ZDA) continue;
        counts[N_TRUNCATED] += nc < MIN_FIELDS[kind];
        /* An epoch's sentences write the same time, and a day's RMCs the same date: each is read only
         * where its text differs from the one before. */
        int64_t fs, fe;
        field(r, TIME_FIELD[kind], &fs, &fe);
        if (fe - fs != tod_len || fe - fs > 16 || memcmp(b + fs, b + tod_at, (size_t)(fe - fs)))
            tod = time_of_day(b, fs, fe), tod_at = fs, tod_len = fe - fs;
        r->tod = tod;
        if (kind == RMC) {
            field(r, 9, &fs, &fe);
            if (fe - fs != day_len || fe - fs > 16 || memcmp(b + fs, b + day_at, (size_t)(fe - fs)))
                day = rmc_day(b, r), day_at = fs, day_len = fe - fs;
            r->day = day;
        }
    }
    counts[N_LINES] += nl + (n && b[n - 1] != '\n');
    return m;
}

int64_t nmea_block(void *pctx, const uint8_t *b, int64_t n, double *state, int64_t *counts, int64_t cap,
                   double *o_tod, int64_t *o_day, double *o_logger, double *o_lat, double *o_lon, int8_t *o_quality,
                   int16_t *o_nsat, float *o_hdop, float *o_sog, int8_t *o_kind) {
    ctx_t *ctx = pctx;
    int64_t m = scan(ctx, b, n, counts);
    if (m <= 0) return m;
    row_t *rows = ctx->rows;
    int64_t *pos = ctx->pos;

    /* Epochs: consecutive position sentences with the same time of day (or, without one, the same logger
     * time); the best kind (GGA, GNS, RMC, GLL), first met, speaks for the epoch. */
    int64_t np = 0, ne = 0;
    int have_zda = 0;
    double prev_key = NAN;
    int prev_no_tod = 0;
    for (int64_t u = 0; u < m; u++) {
        row_t *r = &rows[u];
        if (r->kind == ZDA) {
            have_zda = 1;
            continue;
        }
        int no_tod = isnan(r->tod);
        double key = no_tod ? logger_time(b, r, &ctx->logger_date) : r->tod;
        int same = np > 0 && !isnan(key) && fabs(key - prev_key) < 0.0005 && no_tod == prev_no_tod;
        pos[np] = u;
        if (!same) {
            if (ne >= cap) return -2;
            ctx->epochs[ne++] = (epoch_t){np, 0, np, -1};
        }
        epoch_t *e = &ctx->epochs[ne - 1];
        if (r->kind < rows[pos[e->rep]].kind) e->rep = np;
        if (r->kind == RMC && r->day > e->own) e->own = r->day;
        e->len++, np++;
        prev_key = key, prev_no_tod = no_tod;
    }
    if (np == 0) return 0;
    int lacking = 0;
    for (int64_t e = 0; e < ne; e++) lacking |= ctx->epochs[e].own < 0;

    /* ZDA dates are read only when an epoch has no RMC date of its own. */
    if (have_zda) {
        for (int64_t u = 0; u < m; u++) {
            row_t *r = &rows[u];
            if (r->kind != ZDA) continue;
            if (lacking) {
                r->day = zda_day(b, r);
                counts[N_ZDA_NO_DATE] += r->day < 0;
            } else {
                int64_t fs, fe;
                field(r, 2, &fs, &fe);
                counts[N_ZDA_NO_DATE] += fe <= fs;
            }
        }
    }
    double prev_day = state[0], prev_day_tod = state[1];
    int64_t last = -1;
    for (int64_t u = 0; u < m; u++) {
        if (rows[u].day >= 0) last = u;
        ctx->dated_before[u] = last;
    }
    if (last >= 0) {
        state[0] = (double)rows[last].day;
        state[1] = rows[last].kind == ZDA || isnan(rows[last].tod) ? field_time(b, &rows[last], 1) : rows[last].tod;
    }

    double prev_lat = NAN, prev_lon = NAN;
    for (int64_t e = 0; e < ne; e++) {
        epoch_t *ep = &ctx->epochs[e];
        int64_t rep = pos[ep->rep];
        position_t p = read_position(b, &rows[rep]);
        counts[N_IMPOSSIBLE] += p.impossible;
        if (isnan(p.lat) && ep->len > 1) { /* another sentence of the epoch may have a position */
            int64_t best = -1;
            position_t bp;
            for (int64_t q = ep->first; q < ep->first + ep->len; q++) {
                position_t o = read_position(b, &rows[pos[q]]);
                if (best < 0 || (isnan(bp.lat) && !isnan(o.lat)) ||
                    (isnan(bp.lat) == isnan(o.lat) && rows[pos[q]].kind < rows[pos[best]].kind))
                    best = q, bp = o;
            }
            if (!isnan(bp.lat)) rep = pos[best], p = bp;
        }
        /* Speed over ground (the RMC's), read only where the position repeats the previous epoch's. */
        double sog = NAN;
        if (e == 0 || (p.lat == prev_lat && p.lon == prev_lon)) {
            for (int64_t q = ep->first; q < ep->first + ep->len; q++) {
                row_t *r = &rows[pos[q]];
                if (r->kind != RMC) continue;
                int64_t fs, fe;
                field(r, 7, &fs, &fe);
                double v = float_field(b, fs, fe) * (1852.0 / 3600.0);
                if (isnan(sog) || v > sog) sog = isnan(v) ? sog : v;
            }
        }
        prev_lat = p.lat, prev_lon = p.lon;
        /* The epoch's date: its own RMC's, else the latest date before it, moved a day where the time of
         * day wrapped around midnight since that date was written. */
        int64_t day = ep->own;
        row_t *r = &rows[rep];
        if (day < 0) {
            int64_t src = ctx->dated_before[rep];
            double d = src >= 0 ? (double)rows[src].day : prev_day;
            double src_tod = prev_day >= 0 ? prev_day_tod : NAN;
            if (src >= 0)
                src_tod = rows[src].kind == ZDA || isnan(rows[src].tod) ? field_time(b, &rows[src], 1) : rows[src].tod;
            double delta = r->tod - src_tod;
            if (d >= 0 && delta < -43200)
                d += 1;
            else if (d >= 0 && delta > 43200)
                d -= 1;
            day = isnan(r->tod) ? -1 : (int64_t)d;
        }
        o_tod[e] = r->tod;
        o_day[e] = day;
        o_logger[e] = logger_time(b, r, &ctx->logger_date);
        o_lat[e] = p.lat, o_lon[e] = p.lon;
        o_quality[e] = (int8_t)(int16_t)p.quality;
        o_nsat[e] = (int16_t)(p.nsat < -1 ? -1 : p.nsat > 32000 ? 32000 : p.nsat);
        o_hdop[e] = (float)p.hdop;
        o_sog[e] = (float)sog;
        o_kind[e] = r->kind;
    }
    return ne;
}
