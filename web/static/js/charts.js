// charts.js: page script (work in progress).
