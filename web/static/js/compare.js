// compare.js: page script (work in progress).
