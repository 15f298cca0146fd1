// run.js: page script (work in progress).
