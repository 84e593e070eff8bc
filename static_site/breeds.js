// catbreed page: "The breeds it knows" (GET /breeds, with breeds.json's text on each) and the
// link from a breed in an answer to its entry there.
const $ = (id) => document.getElementById(id);
const nameKey = (name) => String(name).toLowerCase().replace(/[_-]+/g, " ").trim();
const entryId = (breed) => `breed-${nameKey(breed).replace(/[^a-z0-9]+/g, "-")}`;

// A breed's name, linked to its entry in "The breeds it knows" when it has one.
export function breedName(breed) {
  const entry = document.getElementById(entryId(breed));
  if (!entry) return breed;
  const link = document.createElement("a");
  link.href = `#${entry.id}`;
  link.textContent = breed;
  return link;
}

// Open the list, so the browser can scroll to the entry a link names.
export function openList() {
  $("breeds-details").open = true;
}

// The list, each breed with the lines breeds.json has for it (`traits`: {breed: [line, ...]}).
export function showBreeds(breeds, traits) {
  const known = {};
  for (const [name, lines] of Object.entries(traits)) known[nameKey(name)] = lines;
  const entries = breeds.map((breed) => {
    const entry = document.createElement("div");
    entry.className = "breed-entry";
    entry.id = entryId(breed);
    const dt = document.createElement("dt");
    dt.textContent = breed;
    const dd = document.createElement("dd");
    const lines = known[nameKey(breed)] || [];
    if (lines.length) {
      const ul = document.createElement("ul");
      for (const line of lines) {
        const li = document.createElement("li");
        li.textContent = line;
        ul.appendChild(li);
      }
      dd.appendChild(ul);
    }
    entry.append(dt, dd);
    return entry;
  });
  $("breed-list").replaceChildren(...entries);
  $("breed-total").textContent = String(breeds.length);
  $("breed-count").textContent = String(breeds.length);
  $("breed-count-line").hidden = false;
  $("breeds").hidden = false;
}
