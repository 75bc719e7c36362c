// Thin client for the catalog API served by Django under /api/items.

async function readJSON(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.error || `the server answered ${response.status}`);
  }
  return body;
}

export async function listItems() {
  const body = await readJSON(await fetch("/api/items", { headers: { Accept: "application/json" } }));
  return body.items;
}

export async function createItem(name) {
  const response = await fetch("/api/items", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ name }),
  });
  return readJSON(response);
}
