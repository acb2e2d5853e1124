{
  "targets": [
    {
      "target_name": "pocketsphinx",
      "sources": ["engine/pocketsphinx/native/addon.c"],
      "cflags": ["<!@(pkg-config --cflags pocketsphinx sphinxbase)", "-Wall", "-Wextra"],
      "libraries": ["<!@(pkg-config --libs pocketsphinx sphinxbase)"]
    }
  ]
}
