// app.js: page script (work in progress).
