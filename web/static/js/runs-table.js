// runs-table.js: page script (work in progress).
