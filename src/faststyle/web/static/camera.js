// Camera mode: getUserMedia -> each video frame drawn to the original canvas at the chosen size
// -> the page's stylize() -> the result canvas, frame after frame, with the frame rate shown.
// One camera at a time; it starts only once the photo being stylized (if any) is done, and
// Stop lets the frame in flight finish, then releases the camera.

const paused = () => new Promise((resolve) => setTimeout(resolve, 0));  // let clicks and the fps paint through

// `page`: {ui, idle() -> bool, currentModel(), loadSession, ensureEmbedding, showStyles, styleChoice, drawOriginal,
// stylize, setState, showError, clearError, stopped()} from app.js.
export function cameraMode(page) {
  const { ui } = page;
  let camera = null;  // {stopping, stream?, video?} from the first click until the tracks are stopped

  function release(cam) {
    for (const track of cam.stream?.getTracks() ?? []) track.stop();
    if (camera === cam) camera = null;
    ui.camera.textContent = "Start camera";
    ui.fps.hidden = true;
  }

  async function start() {
    const cam = (camera = { stopping: false });
    ui.camera.textContent = "Stop camera";
    page.clearError();
    while (!page.idle()) await paused();  // a photo run in flight finishes first: one session.run at a time
    const [width, height] = ui.cameraSize.value.split("x").map(Number);
    try {
      cam.stream = await navigator.mediaDevices.getUserMedia({ video: { width, height }, audio: false });
      cam.video = document.createElement("video");
      Object.assign(cam.video, { muted: true, playsInline: true, srcObject: cam.stream });
      await cam.video.play();
    } catch (e) {
      release(cam);
      page.showError(`No camera: ${e.message || e}. Allow this page to use the camera, or choose a photo instead.`);
      return;
    }
    // an unplugged camera ends its track: stop rather than stylize its last frame forever
    for (const track of cam.stream.getTracks()) track.addEventListener("ended", () => (cam.stopping = true));
    ui.fps.hidden = false;
    ui.download.hidden = true;
    await loop(cam, width);
  }

  // One frame after another, each with the model and style selected at that moment. The frame rate
  // is counted over the last second (or the last two frames), from frame grab to pixels on the page.
  async function loop(cam, width) {
    const times = [];
    let frames = 0;
    try {
      while (!cam.stopping) {
        const model = page.currentModel();
        const session = await page.loadSession(model);
        await page.ensureEmbedding(model);
        page.showStyles(model);  // after the embedding: a picked painting stays among the styles
        const { videoWidth, videoHeight } = cam.video;
        if (!videoWidth) {
          await paused();
          continue;
        }
        const rgba = page.drawOriginal(cam.video, width, videoWidth, videoHeight);
        const choice = page.styleChoice(model);
        const image = await page.stylize(session, rgba, choice.weights);
        ui.result.width = image.width;
        ui.result.height = image.height;
        ui.result.getContext("2d").putImageData(image, 0, 0);
        const now = performance.now();
        times.push(now);
        while (times.length > 2 && times[0] < now - 1000) times.shift();
        const fps = times.length > 1 ? ((times.length - 1) * 1000) / (now - times[0]) : 0;
        frames += 1;
        document.body.dataset.frames = String(frames);
        document.body.dataset.fps = fps.toFixed(2);
        ui.fps.textContent = `${fps.toFixed(1)} frames/s`;
        page.setState("camera", `Camera ${image.width}×${image.height} with ${choice.label}: ${fps.toFixed(1)} frames/s`);
        await paused();
      }
    } catch (e) {
      page.showError(`Camera stylizing failed: ${e.message || e}`);
    } finally {
      release(cam);
      if (document.body.dataset.state === "camera") page.setState("idle", `Camera stopped after ${frames} frames.`);
      page.stopped();
    }
  }

  return {
    get active() {
      return camera !== null;
    },
    toggle() {
      if (camera) camera.stopping = true;  // the loop finishes its frame, then lets go of the camera
      else start();
    },
  };
}
