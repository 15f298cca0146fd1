// experiment-form.js: page script (work in progress).
