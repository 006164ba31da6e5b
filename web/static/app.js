// The pages' one script. Everything works without it (forms post and pages reload); with it,
// htmx redraws only the part a form changes, and an upload shows its progress.
"use strict";

document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.target instanceof Element ? event.target.closest("form.upload") : null;
  if (!form || !event.detail.lengthComputable) return;
  const bar = form.querySelector("progress");
  bar.hidden = false;
  bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
});

document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.target instanceof Element ? event.target.closest("form.upload") : null;
  if (form && event.detail.successful) form.reset();
});
