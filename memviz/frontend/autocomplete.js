// The article's autocomplete demo as a widget: a text box; at every keystroke the kernel's models
// read the text and answer with their top words for the word being typed (memviz.widgets.AutocompleteDemo).
//
// Keystrokes are coalesced, not queued: one request is in flight at a time, and when its answer
// arrives the newest text (if it changed) goes next. The time from each keystroke to the first
// drawn answer that includes it is kept in `el.dataset.latencies` (ms, JSON) for the benchmark, and
// [text length, kernel ms] of each answer in `el.dataset.kernel`.
// Model state: text (what the box holds), request {seq, text}, result {seq, panels: [{model,
// colour, chars: [[char, background]], typed, suggestions: [[word, percent, hit]], strip: [colours]}]}.

function renderAutocomplete({ model, el }) {
  const root = document.createElement("div");
  root.className = "memviz-autocomplete";
  const input = document.createElement("input");
  Object.assign(input, { type: "text", value: model.get("text"), spellcheck: false, className: "memviz-autocomplete-input" });
  input.setAttribute("aria-label", "type a text; the models suggest the word being typed");
  const timing = document.createElement("span");
  timing.className = "memviz-autocomplete-timing";
  const rows = document.createElement("div");
  const head = document.createElement("div");
  head.className = "memviz-autocomplete-head";
  head.append(input, timing);
  root.append(head, rows);
  el.appendChild(root);

  let seq = 0;
  let inFlight = null; // seq of the request awaiting its answer
  let sentText = null;
  const waiting = []; // [seq it needs, time of the keystroke]
  const latencies = [];
  const kernel = []; // the kernel's compute time of each answer (ms)

  function send() {
    if (inFlight !== null || input.value === sentText) return;
    seq += 1;
    inFlight = seq;
    sentText = input.value;
    model.set("text", sentText);
    model.set("request", { seq, text: sentText });
    model.save_changes();
  }

  input.addEventListener("input", () => {
    waiting.push([seq + 1, performance.now()]); // the next request sent carries this keystroke
    send();
  });

  function draw() {
    const result = model.get("result");
    if (result && result.error) { rows.textContent = result.error; return; }
    if (!result || !result.panels) return;
    rows.replaceChildren(...result.panels.map(panel));
    root.dataset.seq = String(result.seq || 0);
    root.dataset.text = result.text || "";
  }

  function panel(p) {
    const row = document.createElement("div");
    row.className = "memviz-autocomplete-row";
    const name = document.createElement("div");
    name.className = "memviz-autocomplete-name";
    name.textContent = p.model;
    name.style.color = p.colour;
    const text = document.createElement("div");
    text.className = "memviz-autocomplete-text";
    for (const [char, background] of p.chars) {
      const span = document.createElement("span");
      span.textContent = char === " " ? "\u00a0" : char;
      span.style.background = background;
      text.appendChild(span);
    }
    const strip = document.createElement("div");
    strip.className = "memviz-autocomplete-strip";
    strip.title = "the output layer: the highest probability in each group of word ids";
    for (const colour of p.strip) {
      const bin = document.createElement("span");
      bin.style.background = colour;
      strip.appendChild(bin);
    }
    const words = document.createElement("div");
    words.className = "memviz-autocomplete-words";
    for (const [word, percent] of p.suggestions) {
      const box = document.createElement("span");
      box.className = "memviz-autocomplete-word";
      box.textContent = `${word} (${percent})`;
      words.appendChild(box);
    }
    row.append(name, text, strip, words);
    return row;
  }

  model.on("change:result", () => {
    const result = model.get("result");
    draw();
    const now = performance.now();
    if (result && result.seq === inFlight) {
      while (waiting.length && waiting[0][0] <= result.seq) latencies.push(now - waiting.shift()[1]);
      el.dataset.latencies = JSON.stringify(latencies.map((t) => Math.round(t * 10) / 10));
      kernel.push([result.text.length, result.compute_ms]);
      el.dataset.kernel = JSON.stringify(kernel);
      if (latencies.length) timing.textContent = `updated ${Math.round(latencies[latencies.length - 1])} ms after the keystroke`;
      inFlight = null;
      send(); // the newest text, if the reader typed on meanwhile
    }
  });
  model.on("change:text", () => { if (model.get("text") !== input.value) { input.value = model.get("text"); send(); } });
  draw();
  if (!model.get("result") || !model.get("result").panels) send();
}
