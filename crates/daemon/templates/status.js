// Reloads the status page every refresh interval; the page reads fine without it.
setTimeout(function () { location.reload(); }, Number(document.body.dataset.reloadMs));
