{
  "targets": [
    {
      "target_name": "pocketsphinx",
      "sources": ["engine/pocketsphinx/native/addon.c"],
      "cflags": ["<!@(pkg-config --cflags pocketsphinx sphinxbase)", "-Wall", "-Wextra"],
      "libraries": ["<!@(pkg-config --libs pocketsphinx sphinxbase)"]
    },
    {
      "target_name": "nsm",
      "sources": ["attestation/nsm/native/nsm.c"],
      "cflags": ["-Wall", "-Wextra"]
    }
  ]
}
