// The connectivity explorer in the browser: select an output position by pointing, pin it, step it
// with the keyboard, animate the article's hero figure. Shared by the notebook widget
// (memviz.widgets.ExplorerView, an anywidget) and the standalone page (memviz.export.explorer_html).
//
// `model` is an anywidget model, or the page's stand-in with the same four methods (get, set,
// save_changes, on). Its state: spec (Vega-Lite), position, pinned, playing, and info = {length,
// lines, cols, hero: [first, last, characters] or null, interval, walkthrough: [[position, caption], …],
// controls: true to draw this file's own slider, play button and walkthrough buttons (standalone)}.
// Recolouring only sets Vega signals: no kernel is involved in anything drawn here.

async function renderExplorer({ model, el }) {
  const info = model.get("info");
  const last = info.length - 1;
  const root = document.createElement("div");
  root.className = "memviz-explorer";
  root.tabIndex = 0; // focusable: arrow keys, Home/End, Enter pins, Escape releases
  root.setAttribute("role", "application");
  root.setAttribute("aria-label", "Connectivity explorer. Left and right arrows: previous and next character; "
    + "up and down: line above and below; Home and End: first and last; Enter: pin; Escape: release.");
  const controls = info.controls ? document.createElement("div") : null;
  const chartEl = document.createElement("div");
  if (controls) root.appendChild(controls);
  root.appendChild(chartEl);
  el.appendChild(root);

  const result = await vegaEmbed(chartEl, model.get("spec"), { actions: false, renderer: "svg" });
  const view = result.view;
  let position = model.get("position");
  let pinned = model.get("pinned");
  let playing = false;
  let timer = null;
  let frame = info.hero ? info.hero[0] : 0; // the hero animation's next frame: where it stopped

  const ui = controls ? buildControls(controls) : null;

  async function draw() {
    view.signal("position", position);
    view.signal("pinned", pinned);
    view.signal("shown", playing && info.hero ? info.hero[2] : info.length);
    await view.runAsync();
    if (ui) ui.update();
    root.dataset.position = String(position); // read by the browser tests
    root.dataset.pinned = String(pinned);
    root.dataset.length = String(info.length);
  }

  function tell(name, value) { // the kernel (or the page) learns what the reader did
    model.set(name, value);
    model.save_changes();
  }

  function select(p, how) {
    p = Math.max(0, Math.min(last, Math.round(p)));
    if (how !== "play" && playing) setPlaying(false);
    if (p === position) return draw();
    position = p;
    tell("position", p);
    return draw();
  }

  function setPinned(value) {
    pinned = value;
    tell("pinned", value);
    draw();
  }

  function setPlaying(value) {
    if (!info.hero || value === playing) return;
    playing = value;
    if (timer !== null) { clearInterval(timer); timer = null; }
    tell("playing", value);
    if (playing && pinned) { pinned = false; tell("pinned", false); }
    if (playing && info.controls) { // the standalone page animates itself; the notebook's Play widget drives it
      const [first, lastFrame] = info.hero;
      if (position >= first && position <= lastFrame) frame = position; // resume where the reader is
      select(frame, "play");
      timer = setInterval(() => {
        frame = frame >= lastFrame ? first : frame + 1;
        select(frame, "play");
      }, info.interval);
    }
    draw();
  }

  function charIndex(item) {
    const datum = item && item.datum;
    return datum && Number.isInteger(datum.i) && typeof datum.c === "string" ? datum.i : null;
  }

  view.addEventListener("pointerover", (event, item) => {
    const i = charIndex(item);
    if (i !== null && !pinned) select(i, "pointer");
  });
  view.addEventListener("click", (event, item) => {
    const i = charIndex(item);
    if (i === null) return;
    if (pinned && i === position) { setPinned(false); return; }
    pinned = true;
    tell("pinned", true);
    select(i, "pointer");
  });

  function lineStep(direction) { // the character above or below, nearest in its column
    const line = info.lines[position] + direction;
    let best = null;
    for (let i = 0; i <= last; i++) {
      if (info.lines[i] !== line) continue;
      if (best === null || Math.abs(info.cols[i] - info.cols[position]) < Math.abs(info.cols[best] - info.cols[position])) best = i;
    }
    return best === null ? position : best;
  }

  root.addEventListener("keydown", (event) => {
    const moves = {
      ArrowLeft: () => position - 1, ArrowRight: () => position + 1, ArrowUp: () => lineStep(-1),
      ArrowDown: () => lineStep(1), Home: () => 0, End: () => last,
      PageUp: () => position - 10, PageDown: () => position + 10,
    };
    if (moves[event.key]) select(moves[event.key](), "key");
    else if (event.key === "Enter" || event.key === " ") setPinned(!pinned);
    else if (event.key === "Escape") setPinned(false);
    else return;
    event.preventDefault();
    event.stopPropagation(); // JupyterLab's own arrow-key shortcuts must not move the notebook's cells
  });

  model.on("change:position", () => {
    const p = model.get("position");
    if (p !== position) { position = Math.max(0, Math.min(last, p)); draw(); }
  });
  model.on("change:pinned", () => { if (model.get("pinned") !== pinned) { pinned = model.get("pinned"); draw(); } });
  model.on("change:playing", () => {
    const value = model.get("playing");
    if (value !== playing) { if (info.controls) setPlaying(value); else { playing = value; draw(); } }
  });

  function buildControls(box) {
    box.className = "memviz-controls";
    const play = document.createElement("button");
    play.type = "button";
    play.className = "memviz-play";
    play.hidden = !info.hero;
    play.addEventListener("click", () => setPlaying(!playing));
    const slider = document.createElement("input");
    Object.assign(slider, { type: "range", min: 0, max: last, step: 1, value: position, className: "memviz-slider" });
    slider.setAttribute("aria-label", "output position");
    slider.addEventListener("input", () => select(Number(slider.value), "slider"));
    const label = document.createElement("span");
    label.className = "memviz-label";
    const row = document.createElement("div");
    row.append(play, slider, label);
    const walk = document.createElement("div");
    walk.className = "memviz-walkthrough";
    const caption = document.createElement("div");
    caption.className = "memviz-caption";
    const captions = new Map(info.walkthrough || []);
    if (captions.size) walk.append(info.walkthrough_label || "walkthrough: ");
    for (const [step, text] of captions) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(step);
      button.title = text;
      button.addEventListener("click", () => { pinned = true; tell("pinned", true); select(step, "button"); });
      walk.append(button);
    }
    box.append(row, walk, caption);
    return {
      update() {
        slider.value = position;
        play.textContent = playing ? "❚❚ stop" : "▶ play the hero figure";
        label.textContent = `output position ${position}` + (pinned ? " (pinned: Escape releases)" : "");
        caption.textContent = captions.get(position) || "";
      },
    };
  }

  if (info.controls && model.get("playing")) { playing = false; setPlaying(true); } else await draw();
  return () => { if (timer !== null) clearInterval(timer); result.finalize(); };
}
