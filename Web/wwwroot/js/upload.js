// File selection (picker and drag-and-drop) and uploads with progress: HttpClient in WebAssembly reports no
// upload progress, XMLHttpRequest does.
const files = new Map();
let nextId = 1;

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
  input.addEventListener('change', () => { add(input.files); input.value = ''; });
  dropZone.addEventListener('dragover', e => { e.preventDefault(); dropZone.classList.add('dragging'); });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', e => {
    e.preventDefault();
    dropZone.classList.remove('dragging');
    add(e.dataTransfer.files);
  });
}

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
