"""Where models come from: the resolver (bundled, local, cache, hub, toy,
python factory), the meta-device builder and the toy nets."""
