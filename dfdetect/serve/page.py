"""The scoring page (``GET /``): one self-contained HTML file, no external script, style or font (works offline).

A person drops a video or a face image (or picks one); the page posts it to ``POST /v1/score?explain=true`` and shows
the score and verdict, the status and reason when it could not be scored, how much of the video was looked at, the
timeline over the WHOLE video (an inline SVG, :func:`svgTimeline` in the script: a time axis in seconds from 0 to the
video's duration, each scored window a bar over its seconds as high as its P(fake), the windows at or above the
threshold marked red (class ``window above``), the threshold line, the fake segments as a red band along the top,
the per-frame scores as dots; for an image, or crops without times, per clip and frame by frame number), the face
crops with their heat maps, for a video of several people each person (``#persons``, one ``figure.person`` each: its
face thumbnail, P(fake), face box and seconds; the timeline, frames and heat maps are of the highest-scored one,
marked ``top``), for an audio or ``av`` model each clip's log-mel
spectrogram with its heat map (under "What the model heard"), and the seconds it took. ``body[data-state]`` is
``idle``, ``scoring``, ``done`` or ``failed`` (what the browser test waits for).
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dfdetect: score a video</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
header{background:#1d232b;color:#fff;padding:12px 24px}header h1{font-size:20px;margin:0}
header small{color:#aab}main{max-width:1000px;margin:0 auto;padding:16px 24px}
#drop{display:block;border:2px dashed #8894a5;border-radius:10px;padding:28px;text-align:center;background:#fff;
  cursor:pointer}
#drop.over{background:#e8f0ff;border-color:#3d6fd8}
.card{background:#fff;border-radius:10px;padding:16px;margin-top:16px;box-shadow:0 1px 3px #0002}
#score{font-size:44px;font-weight:700}#verdict{font-size:22px;font-weight:600;margin-left:12px}
.fake{color:#c0392b}.real{color:#1e8449}.none{color:#7f8c8d}
#reason{color:#a04000}.meta{color:#55606e;font-size:14px}
#heatmaps{display:flex;flex-wrap:wrap;gap:8px}
#heatmaps figure{margin:0;text-align:center;font-size:12px;color:#55606e}
#heatmaps img{width:112px;height:112px;image-rendering:pixelated;border-radius:6px;display:block}
#persons{display:flex;flex-wrap:wrap;gap:12px}
#persons figure{margin:0;text-align:center;font-size:12px;color:#55606e;padding:4px;border-radius:8px}
#persons figure.top{outline:2px solid #c0392b}
#persons img{width:96px;height:96px;border-radius:6px;display:block;margin:0 auto}
#spectrograms{display:flex;flex-wrap:wrap;gap:8px}
#spectrograms figure{margin:0;text-align:center;font-size:12px;color:#55606e}
#spectrograms img{height:160px;image-rendering:pixelated;border-radius:6px;display:block}
svg text{font-size:11px;fill:#55606e}
</style></head>
<body data-state="idle">
<header><h1>dfdetect: is this face video real or fake?</h1><small id="model"></small></header>
<main>
<label id="drop" for="file">Drop a video or a face image here, or click to choose one
<input id="file" type="file" accept="video/*,image/*" hidden></label>
<div class="card" id="result" hidden>
  <div><span id="score"></span><span id="verdict"></span></div>
  <div class="meta"><span id="name"></span> &middot; status <b id="status"></b> &middot;
    <span id="seconds"></span> s &middot; faces <span id="faces"></span></div>
  <div id="reason"></div>
  <div class="meta" id="coverage"></div>
  <div class="meta" id="segments"></div>
</div>
<div class="card" id="persons-card" hidden><b>People</b>
  <span class="meta">every face in the video scored on its own; the video's score is the highest (outlined: the one
  the timeline and heat maps below are of)</span>
  <div id="persons"></div></div>
<div class="card" id="timeline-card" hidden><b>Timeline</b>
  <span class="meta">P(fake) per window (bars over the seconds each covers; red: at or above the threshold, the dashed
  line) and per frame (dots), over the whole video</span>
  <div id="timeline"></div></div>
<div class="card" id="heatmaps-card" hidden><b>What the model looked at</b>
  <span class="meta">the face crops it scored, Grad-CAM over each (red: pushed towards fake)</span>
  <div id="heatmaps"></div><div class="meta" id="heatmaps-reason"></div></div>
<div class="card" id="spectrograms-card" hidden><b>What the model heard</b>
  <span class="meta">each clip's log-mel spectrogram (time left to right, low frequencies at the bottom), Grad-CAM
  over it (red: pushed towards fake)</span>
  <div id="spectrograms"></div><div class="meta" id="spectrograms-reason"></div></div>
</main>
<script>
const $ = (id) => document.getElementById(id);
fetch('/healthz').then(r => r.json()).then(h => {
  $('model').textContent = `model ${h.model_name} (${h.model_kind}), version ${h.model_version}`;
});
function niceStep(span) {
  const steps = [0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
  return steps.find(s => span / s <= 10) || 7200;
}
function svgTimeline(r) {
  const windows = r.windows || [];
  if (!(windows.length && r.duration_s > 0)) return svgFrames(r);
  const w = 900, h = 170, pad = 36, dur = r.duration_s, fps = r.fps || 0;
  const x = (t) => pad + (w - 2 * pad) * Math.min(Math.max(t, 0), dur) / dur;
  const y = (s) => h - pad - (h - 2 * pad) * s;
  let s = `<svg width="100%" viewBox="0 0 ${w} ${h}" role="img" aria-label="timeline" data-duration="${dur}">`;
  s += `<line x1="${x(0)}" y1="${y(0)}" x2="${x(dur)}" y2="${y(0)}" stroke="#8894a5"/>`;
  const step = niceStep(dur);
  for (let t = 0; t <= dur + 1e-9; t += step) {
    s += `<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(0) + 4}" stroke="#8894a5"/>`;
    s += `<text class="tick" data-t="${t}" x="${x(t) - 8}" y="${y(0) + 16}">${+t.toFixed(1)} s</text>`;
  }
  s += `<text class="tick end" data-t="${dur}" x="${x(dur) - 20}" y="${h - 4}">${dur.toFixed(1)} s</text>`;
  for (const g of r.fake_segments || []) {
    s += `<rect class="segment" x="${x(g.start_s)}" y="${pad - 14}" width="${Math.max(2, x(g.end_s) - x(g.start_s))}"
          height="6" fill="#c0392b" data-start="${g.start_s}" data-end="${g.end_s}"><title>fake ${
          g.start_s.toFixed(2)}-${g.end_s.toFixed(2)} s, peak ${g.peak.toFixed(3)}</title></rect>`;
  }
  for (const v of windows) {
    const above = v.score >= r.threshold;
    s += `<rect class="window${above ? ' above' : ''}" x="${x(v.start_s)}" y="${y(v.score)}"
          width="${Math.max(2, x(v.end_s) - x(v.start_s))}" height="${y(0) - y(v.score)}"
          fill="${above ? '#c0392bbb' : '#3d6fd888'}" data-start="${v.start_s}" data-end="${v.end_s}"
          data-score="${v.score}"><title>${v.start_s.toFixed(2)}-${v.end_s.toFixed(2)} s: ${v.score.toFixed(3)}</title>
          </rect>`;
  }
  if (fps > 0) {
    for (const f of r.frame_scores || []) {
      s += `<circle class="frame" cx="${x((f.frame + 0.5) / fps)}" cy="${y(f.score)}" r="2.5" fill="#1d232b">
            <title>${(f.frame / fps).toFixed(2)} s (frame ${f.frame}): ${f.score.toFixed(3)}</title></circle>`;
    }
  }
  s += `<line class="threshold" x1="${x(0)}" y1="${y(r.threshold)}" x2="${x(dur)}" y2="${y(r.threshold)}"
        stroke="#c0392b" stroke-dasharray="4"/>`;
  s += `<text x="${w - pad + 2}" y="${y(r.threshold) + 4}">${r.threshold}</text>`;
  s += `<text x="2" y="${y(1) + 4}">1</text><text x="2" y="${y(0) + 4}">0</text>`;
  return s + '</svg>';
}
function svgFrames(r) {
  const w = 900, h = 160, pad = 30;
  const frames = r.clips.flatMap(c => c.frames).concat(r.frame_scores.map(f => f.frame));
  if (!frames.length) return '';
  const lo = Math.min(...frames), hi = Math.max(...frames) + 1;
  const x = (f) => pad + (w - 2 * pad) * (f - lo) / Math.max(1, hi - lo);
  const y = (s) => h - pad - (h - 2 * pad) * s;
  let s = `<svg width="100%" viewBox="0 0 ${w} ${h}" role="img" aria-label="timeline">`;
  s += `<line x1="${pad}" y1="${y(r.threshold)}" x2="${w - pad}" y2="${y(r.threshold)}" stroke="#c0392b"
        stroke-dasharray="4"/><text x="${w - pad + 2}" y="${y(r.threshold) + 4}">${r.threshold}</text>`;
  s += `<text x="2" y="${y(1) + 4}">1</text><text x="2" y="${y(0) + 4}">0</text>`;
  for (const c of r.clips) {
    const a = x(Math.min(...c.frames)), b = x(Math.max(...c.frames) + 1);
    s += `<rect class="clip" x="${a}" y="${y(c.score)}" width="${Math.max(2, b - a - 2)}"
          height="${y(0) - y(c.score)}" fill="#3d6fd855"><title>clip: ${c.score.toFixed(3)}</title></rect>`;
  }
  for (const f of r.frame_scores) {
    s += `<circle class="frame" cx="${x(f.frame + 0.5)}" cy="${y(f.score)}" r="3" fill="#1d232b">
          <title>frame ${f.frame}: ${f.score.toFixed(3)}</title></circle>`;
  }
  s += `<text x="${pad}" y="${h - 8}">frame ${lo}</text><text x="${w - pad - 60}" y="${h - 8}">frame ${hi - 1}</text>`;
  return s + '</svg>';
}
function show(r) {
  $('result').hidden = false;
  $('score').textContent = r.score.toFixed(3);
  $('verdict').textContent = r.verdict;
  $('verdict').className = r.status === 'ok' ? r.verdict : 'none';
  $('name').textContent = r.name;
  $('status').textContent = r.status;
  $('reason').textContent = r.reason || '';
  $('seconds').textContent = r.seconds.toFixed(2);
  $('faces').textContent = `${r.faces}/${r.sampled}`;
  const nw = (r.windows || []).length;
  $('coverage').textContent = r.duration_s > 0 ?
    `looked at ${nw} window${nw === 1 ? '' : 's'} spanning ${(r.covered_s || 0).toFixed(1)} s of ${
    r.duration_s.toFixed(1)} s` : '';
  const segs = r.fake_segments || [];
  $('segments').textContent = r.duration_s > 0 && r.status === 'ok' ? (segs.length ? 'looks fake at ' + segs.map(
    g => `${g.start_s.toFixed(1)}-${g.end_s.toFixed(1)} s (peak ${g.peak.toFixed(3)})`).join(', ') :
    'no window at or above the threshold') : '';
  const persons = r.persons || [];
  $('persons-card').hidden = persons.length < 2;
  $('persons').replaceChildren(...(persons.length < 2 ? [] : persons.map(p => {
    const fig = document.createElement('figure');
    fig.className = 'person' + (p.person === r.person ? ' top' : '');
    fig.dataset.person = p.person; fig.dataset.score = p.score;
    if (p.thumbnail) {
      const img = document.createElement('img');
      img.src = p.thumbnail; img.alt = `person ${p.person}`;
      fig.append(img);
    }
    const cap = document.createElement('figcaption');
    const box = p.box ? ` face at ${p.box.map(v => Math.round(v)).join(',')}` : '';
    cap.textContent = `person ${p.person}: ${p.score.toFixed(3)} (${p.score >= r.threshold ? 'fake' : 'real'})${box}, ${
      p.start_s.toFixed(1)}-${p.end_s.toFixed(1)} s, ${p.windows} window${p.windows === 1 ? '' : 's'}`;
    cap.className = p.score >= r.threshold ? 'fake' : 'real';
    fig.append(cap);
    return fig;
  })));
  const hasTimeline = (r.clips || []).length > 0;
  $('timeline-card').hidden = !hasTimeline;
  $('timeline').innerHTML = hasTimeline ? svgTimeline(r) : '';
  const maps = r.heatmaps || [];
  $('heatmaps-card').hidden = maps.length === 0 && !r.heatmaps_reason;
  $('heatmaps').replaceChildren(...maps.map(m => {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.src = m.png; img.alt = `clip ${m.clip} frame ${m.frame}`; img.className = 'heatmap';
    const cap = document.createElement('figcaption');
    cap.textContent = `clip ${m.clip}, frame ${m.frame}`;
    fig.append(img, cap);
    return fig;
  }));
  $('heatmaps-reason').textContent = r.heatmaps_reason || '';
  const specs = r.spectrograms || [];
  $('spectrograms-card').hidden = specs.length === 0 && !r.spectrograms_reason;
  $('spectrograms').replaceChildren(...specs.map(m => {
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    img.src = m.png; img.alt = `clip ${m.clip} log-mel`; img.className = 'spectrogram';
    const cap = document.createElement('figcaption');
    cap.textContent = `clip ${m.clip}, frames ${m.frames[0]}-${m.frames[m.frames.length - 1]}`;
    fig.append(img, cap);
    return fig;
  }));
  $('spectrograms-reason').textContent = r.spectrograms_reason || '';
}
async function score(file) {
  document.body.dataset.state = 'scoring';
  $('drop').firstChild.textContent = `Scoring ${file.name}... `;
  const form = new FormData();
  form.append('file', file);
  try {
    const resp = await fetch('/v1/score?explain=true', {method: 'POST', body: form});
    const r = await resp.json();
    show(r);
    document.body.dataset.state = 'done';
  } catch (e) {
    show({score: 0.5, verdict: 'not scored', status: 'error', reason: String(e), seconds: 0, faces: 0, sampled: 0,
          name: file.name, clips: [], windows: [], fake_segments: [], duration_s: 0, covered_s: 0, frame_scores: [],
          persons: [],
          heatmaps: [], spectrograms: []});
    document.body.dataset.state = 'failed';
  }
  $('drop').firstChild.textContent = 'Drop another video or face image here, or click to choose one ';
}
$('file').addEventListener('change', (e) => { if (e.target.files.length) score(e.target.files[0]); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault(); drop.classList.remove('over');
  if (e.dataTransfer.files.length) score(e.dataTransfer.files[0]);
});
</script></body></html>
"""
