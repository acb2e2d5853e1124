/*
 * PocketSphinx as a Node-API addon: `new Decoder(hmm, lm, dict)` loads the model once (seconds, ~100 MB), then
 * `decode(pcm)` recognises one utterance of 16 kHz mono s16 and returns
 * `{ hyp, segments: [word, startFrame, endFrame, ...] }` with inclusive 10 ms frames, fillers and variants included
 * (the caller filters). `reset()` puts back the adaptive state the decoder had fresh from its model, so that what it
 * heard before (another user's audio) cannot change what it hears next. Blocking by design: it runs on a worker
 * thread, one decoder per worker.
 */
#include <node_api.h>
#include <pocketsphinx.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

/*
 * A decoder and a copy of the state that its front end adapts from utterance to utterance, taken right after ps_init.
 * The noise estimate (-remove_noise, -remove_silence) is not copied: ps_start_stream marks it undefined, as fe_init
 * leaves it, and the next frame re-estimates it from scratch. Live CMN's mean and AGC's estimate are copied because
 * a model's feat.params chooses them (Debian's en-us: batch CMN, which recomputes per utterance, and no AGC).
 */
typedef struct {
  ps_decoder_t *ps;
  cmn_t cmn;      /* scalars as initialised; its arrays point to copies owned here (NULL without CMN) */
  agc_t agc;      /* as initialised (unused without AGC) */
} decoder_t;

static void decoder_free(decoder_t *d) {
  ps_free(d->ps);
  free(d->cmn.cmn_mean);
  free(d->cmn.sum);
  free(d);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  decoder_free((decoder_t *)data);
}

/* Copies the live CMN vectors (mean and running sum) and count from `from` into `to`, which has room for them. */
static void cmn_copy(cmn_t *to, const cmn_t *from) {
  memcpy(to->cmn_mean, from->cmn_mean, from->veclen * sizeof *from->cmn_mean);
  memcpy(to->sum, from->sum, from->veclen * sizeof *from->sum);
  to->nframe = from->nframe;
}

/* Snapshots `ps`'s fresh adaptive state into a new decoder_t; NULL (and `ps` untouched) when out of memory. */
static decoder_t *decoder_new(ps_decoder_t *ps) {
  decoder_t *d = calloc(1, sizeof *d);
  if (!d) return NULL;
  feat_t *feat = ps_get_feat(ps);
  if (feat->cmn_struct) {
    d->cmn.veclen = feat->cmn_struct->veclen;
    d->cmn.cmn_mean = malloc(d->cmn.veclen * sizeof *d->cmn.cmn_mean);
    d->cmn.sum = malloc(d->cmn.veclen * sizeof *d->cmn.sum);
    if (!d->cmn.cmn_mean || !d->cmn.sum) {
      decoder_free(d); /* d->ps is still NULL, which ps_free ignores */
      return NULL;
    }
    cmn_copy(&d->cmn, feat->cmn_struct);
  }
  if (feat->agc_struct) d->agc = *feat->agc_struct;
  d->ps = ps;
  return d;
}

static napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], self;
  char paths[3][4096];
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  for (size_t i = 0; i < 3; i++) {
    size_t len;
    if (i >= argc || napi_get_value_string_utf8(env, argv[i], paths[i], sizeof paths[i], &len) != napi_ok || len >= sizeof paths[i] - 1) {
      napi_throw_type_error(env, NULL, "Decoder(hmm, lm, dict) takes three paths");
      return NULL;
    }
  }
  /* -maxhmmpf 2000 caps the active HMMs per frame and -pl_window 5 adds phone lookahead: together they cut the CPU per
   * second of audio by almost half (real-time factor 0.32 -> 0.17 per worker here) with the same word error rate on the
   * test speech and the sample (bench/engine.ts, test/engine). -fwdflat no would save more but lost words on the sample. */
  cmd_ln_t *config = cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", paths[0], "-lm", paths[1], "-dict", paths[2], "-logfn", "/dev/null",
                                 "-maxhmmpf", "2000", "-pl_window", "5", NULL);
  ps_decoder_t *ps = config ? ps_init(config) : NULL;
  if (config) cmd_ln_free_r(config); /* ps_init holds its own reference */
  if (!ps) {
    napi_throw_error(env, "MODEL", "PocketSphinx could not load its model");
    return NULL;
  }
  decoder_t *d = decoder_new(ps);
  if (!d) {
    ps_free(ps);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (napi_wrap(env, self, d, finalize, NULL, NULL) != napi_ok) {
    decoder_free(d);
    napi_throw_error(env, NULL, "napi_wrap failed");
    return NULL;
  }
  return self;
}

static napi_value reset(napi_env env, napi_callback_info info) {
  napi_value self;
  decoder_t *d;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  CHECK(napi_unwrap(env, self, (void **)&d));
  feat_t *feat = ps_get_feat(d->ps);
  if (feat->cmn_struct) cmn_copy(feat->cmn_struct, &d->cmn);
  if (feat->agc_struct) *feat->agc_struct = d->agc;
  if (ps_start_stream(d->ps) < 0) {
    napi_throw_error(env, "RESET", "PocketSphinx could not restart its stream");
    return NULL;
  }
  return NULL;
}

static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 1, length;
  napi_value argv[1], self, result, segments, value;
  napi_typedarray_type type;
  void *pcm;
  decoder_t *d;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  CHECK(napi_unwrap(env, self, (void **)&d));
  ps_decoder_t *ps = d->ps;
  bool is_typed = false;
  if (argc < 1 || napi_is_typedarray(env, argv[0], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[0], &type, &length, &pcm, NULL, NULL) != napi_ok || type != napi_int16_array) {
    napi_throw_type_error(env, NULL, "decode(pcm) takes an Int16Array of 16 kHz mono samples");
    return NULL;
  }
  if (ps_start_utt(ps) < 0 || ps_process_raw(ps, (const int16 *)pcm, length, FALSE, TRUE) < 0 || ps_end_utt(ps) < 0) {
    napi_throw_error(env, "DECODE", "PocketSphinx failed to decode the utterance");
    return NULL;
  }
  const char *hyp = ps_get_hyp(ps, NULL);
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, hyp ? hyp : "", NAPI_AUTO_LENGTH, &value));
  CHECK(napi_set_named_property(env, result, "hyp", value));
  CHECK(napi_create_array(env, &segments));
  uint32_t n = 0;
  /* ps_seg_next frees the iterator at the end; ps_seg_free only when we stop early. */
  for (ps_seg_t *seg = ps_seg_iter(ps); seg; seg = ps_seg_next(seg)) {
    int sf, ef;
    ps_seg_frames(seg, &sf, &ef);
    if (napi_create_string_utf8(env, ps_seg_word(seg), NAPI_AUTO_LENGTH, &value) != napi_ok || napi_set_element(env, segments, n++, value) != napi_ok ||
        napi_create_int32(env, sf, &value) != napi_ok || napi_set_element(env, segments, n++, value) != napi_ok ||
        napi_create_int32(env, ef, &value) != napi_ok || napi_set_element(env, segments, n++, value) != napi_ok) {
      ps_seg_free(seg);
      napi_throw_error(env, NULL, "could not build the segment list");
      return NULL;
    }
  }
  CHECK(napi_set_named_property(env, result, "segments", segments));
  return result;
}

/*
 * `trimMemory()`: hands the free memory of every malloc arena (each worker thread has its own) back to the system and
 * returns whether any was. glibc keeps what a thread freed for that thread's next allocations, and the decoded audio,
 * the resampled blocks and the pieces of a long recording (ArrayBuffers, which Node allocates with malloc) leave tens
 * of megabytes free but resident once a request ends. A no-op returning false where the C library is not glibc.
 */
static napi_value trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
#ifdef __GLIBC__
  bool trimmed = malloc_trim(0) != 0;
#else
  bool trimmed = false;
#endif
  CHECK(napi_get_boolean(env, trimmed, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {{"decode", NULL, decode, NULL, NULL, NULL, napi_default, NULL},
                                        {"reset", NULL, reset, NULL, NULL, NULL, napi_default, NULL}};
  napi_value cls;
  CHECK(napi_define_class(env, "Decoder", NAPI_AUTO_LENGTH, construct, NULL, 2, methods, &cls));
  CHECK(napi_set_named_property(env, exports, "Decoder", cls));
  napi_value trim;
  CHECK(napi_create_function(env, "trimMemory", NAPI_AUTO_LENGTH, trim_memory, NULL, &trim));
  CHECK(napi_set_named_property(env, exports, "trimMemory", trim));
  return exports;
}
