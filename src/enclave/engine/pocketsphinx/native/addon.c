/*
 * PocketSphinx as a Node-API addon: `new Decoder(hmm, lm, dict)` loads the model once (seconds, ~100 MB), then
 * `decode(pcm)` recognises one utterance of 16 kHz mono s16 and returns
 * `{ hyp, segments: [word, startFrame, endFrame, ...] }` with inclusive 10 ms frames, fillers and variants included
 * (the caller filters). Blocking by design: it runs on a worker thread, one decoder per worker.
 */
#include <node_api.h>
#include <pocketsphinx.h>
#include <string.h>

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, #call " failed"); return NULL; } } while (0)

static void finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  ps_free((ps_decoder_t *)data);
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
  if (napi_wrap(env, self, ps, finalize, NULL, NULL) != napi_ok) {
    ps_free(ps);
    napi_throw_error(env, NULL, "napi_wrap failed");
    return NULL;
  }
  return self;
}

static napi_value decode(napi_env env, napi_callback_info info) {
  size_t argc = 1, length;
  napi_value argv[1], self, result, segments, value;
  napi_typedarray_type type;
  void *pcm;
  ps_decoder_t *ps;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  CHECK(napi_unwrap(env, self, (void **)&ps));
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

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {{"decode", NULL, decode, NULL, NULL, NULL, napi_default, NULL}};
  napi_value cls;
  CHECK(napi_define_class(env, "Decoder", NAPI_AUTO_LENGTH, construct, NULL, 1, methods, &cls));
  CHECK(napi_set_named_property(env, exports, "Decoder", cls));
  return exports;
}
