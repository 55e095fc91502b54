// File selection (picker, drag-and-drop and paste) and uploads with progress: HttpClient in WebAssembly reports no
// upload progress, XMLHttpRequest does.
const files = new Map();
let nextId = 1;

let stopListening = () => {};

export function init(dropZone, input, dotnet) {
  const add = list => {
    const items = [];
    for (const file of list) {
      const id = nextId++;
      files.set(id, file);
      items.push({ id, name: file.name, size: file.size, type: file.type });
    }
    if (items.length) dotnet.invokeMethodAsync('FilesAdded', items);
  };
  // dragenter and dragleave fire for every child the pointer crosses: count them, so the zone stays lit.
  let depth = 0;
  const lit = on => dropZone.classList.toggle('dragging', on);
  const carriesFiles = e => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  const onEnter = e => { if (carriesFiles(e)) { e.preventDefault(); depth++; lit(true); } };
  const onOver = e => { if (carriesFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } };
  const onLeave = () => { depth = Math.max(0, depth - 1); if (depth === 0) lit(false); };
  const onDrop = e => { e.preventDefault(); depth = 0; lit(false); add(e.dataTransfer.files); };
  // An image pasted anywhere on the page (a screenshot, an image copied in another app) is uploaded, unless the
  // user is pasting into a field.
  const onPaste = e => {
    if (e.target.closest && e.target.closest('input:not([type=file]), textarea, [contenteditable]')) return;
    const pasted = [...(e.clipboardData?.files || [])];
    if (pasted.length) { e.preventDefault(); add(pasted); }
  };
  const onChange = () => { add(input.files); input.value = ''; };
  input.addEventListener('change', onChange);
  dropZone.addEventListener('dragenter', onEnter);
  dropZone.addEventListener('dragover', onOver);
  dropZone.addEventListener('dragleave', onLeave);
  dropZone.addEventListener('drop', onDrop);
  document.addEventListener('paste', onPaste);
  stopListening = () => document.removeEventListener('paste', onPaste);
}

export function dispose() { stopListening(); }

// From the headers the response exposes: asking a cross-origin response (S3) for others logs an error.
function retryAfter(xhr) {
  const match = /^retry-after:\s*(\d+)/im.exec(xhr.getAllResponseHeaders());
  return match ? Number(match[1]) : 0;
}

export function upload(id, url, method, headers, multipartField, dotnet) {
  return new Promise(resolve => {
    const file = files.get(id);
    if (!file) { resolve({ status: 0, body: 'file no longer available' }); return; }
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = e => { if (e.lengthComputable) dotnet.invokeMethodAsync('Progress', id, e.loaded, e.total); };
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.responseText, retryAfter: retryAfter(xhr) });
    xhr.onerror = () => resolve({ status: 0, body: 'The network request failed.' });
    if (multipartField) {
      const form = new FormData();
      form.append(multipartField, file, file.name);
      xhr.send(form);
    } else {
      xhr.send(file);
    }
  });
}

export function forget(id) { files.delete(id); }

export function storageGet(key) { return sessionStorage.getItem(key); }
export function storageSet(key, value) { if (value === null) sessionStorage.removeItem(key); else sessionStorage.setItem(key, value); }
