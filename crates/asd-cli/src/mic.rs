//! The default microphone as a monitoring source (`asd monitor --input mic`, the `mic` feature): cpal delivers
//! the device's frames on its own thread; they are mixed to mono, passed through a bounded channel, and resampled
//! to 16 kHz with rubato's synchronous FFT resampler.

use crate::cmd::monitor::Source;
use crate::error::{CliError, Result};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use rubato::{FftFixedInOut, Resampler};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::Duration;

/// Device buffers held between the audio thread and the monitor (a few seconds at usual buffer sizes): a monitor
/// that falls further behind drops input instead of growing memory.
const QUEUE: usize = 256;
/// How long a read waits before letting the monitor check for Ctrl-C.
const POLL: Duration = Duration::from_millis(100);
/// Input frames per resampler block at the device rate (about 20 ms at 48 kHz; rubato rounds it to whole units).
const BLOCK: usize = 1_024;

/// An open microphone stream.
pub struct Microphone {
    /// Kept alive while reading: dropping it stops the device.
    _stream: cpal::Stream,
    frames: Receiver<Vec<f32>>,
    resampler: Option<FftFixedInOut<f32>>,
    pending: Vec<f32>,
}

fn failed(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Io {
        path: "microphone".into(),
        source: std::io::Error::other(format!("{what}: {e}")),
    }
}

/// Sends mono frames, dropping them when the monitor is behind.
fn send(tx: &SyncSender<Vec<f32>>, mono: Vec<f32>) {
    if let Err(TrySendError::Full(_)) = tx.try_send(mono) {
        tracing::warn!("microphone: the monitor is behind; input dropped");
    }
}

/// Averages interleaved `channels`-channel frames of `data`, converted by `to_f32`.
fn mono<T: Copy>(data: &[T], channels: usize, to_f32: impl Fn(T) -> f32) -> Vec<f32> {
    data.chunks(channels.max(1))
        .map(|frame| frame.iter().map(|&v| to_f32(v)).sum::<f32>() / frame.len() as f32)
        .collect()
}

impl Microphone {
    /// Opens the default input device with its default configuration.
    ///
    /// # Errors
    /// No input device, or one whose stream cannot be built or started (named by cpal's message).
    pub fn open() -> Result<Microphone> {
        let device = cpal::default_host()
            .default_input_device()
            .ok_or_else(|| failed("open", "no input device"))?;
        let supported = device.default_input_config().map_err(|e| failed("configuration", e))?;
        let channels = usize::from(supported.channels());
        let rate = supported.sample_rate().0;
        let format = supported.sample_format();
        let config: cpal::StreamConfig = supported.into();
        let (tx, frames) = sync_channel(QUEUE);
        let on_error = |e| tracing::warn!("microphone: {e}");
        let stream = match format {
            cpal::SampleFormat::F32 => device.build_input_stream(
                &config,
                move |data: &[f32], _: &cpal::InputCallbackInfo| send(&tx, mono(data, channels, |v| v)),
                on_error,
                None,
            ),
            cpal::SampleFormat::I16 => device.build_input_stream(
                &config,
                move |data: &[i16], _: &cpal::InputCallbackInfo| {
                    send(&tx, mono(data, channels, |v| f32::from(v) / 32_768.0));
                },
                on_error,
                None,
            ),
            cpal::SampleFormat::U16 => device.build_input_stream(
                &config,
                move |data: &[u16], _: &cpal::InputCallbackInfo| {
                    send(&tx, mono(data, channels, |v| (f32::from(v) - 32_768.0) / 32_768.0));
                },
                on_error,
                None,
            ),
            other => {
                return Err(failed(
                    "configuration",
                    format!("sample format {other} is not supported"),
                ));
            }
        }
        .map_err(|e| failed("stream", e))?;
        stream.play().map_err(|e| failed("start", e))?;
        let target = asd::audio::TARGET_SAMPLE_RATE as usize;
        let resampler = (rate as usize != target)
            .then(|| FftFixedInOut::<f32>::new(rate as usize, target, BLOCK, 1))
            .transpose()
            .map_err(|e| failed("resampler", e))?;
        Ok(Microphone {
            _stream: stream,
            frames,
            resampler,
            pending: Vec::new(),
        })
    }
}

impl Source for Microphone {
    fn next_chunk(&mut self) -> Result<Option<Vec<f32>>> {
        let frames = match self.frames.recv_timeout(POLL) {
            Ok(frames) => frames,
            // Nothing yet: an empty chunk lets the caller check for Ctrl-C.
            Err(RecvTimeoutError::Timeout) => return Ok(Some(Vec::new())),
            Err(RecvTimeoutError::Disconnected) => return Ok(None),
        };
        let Some(resampler) = &mut self.resampler else {
            return Ok(Some(frames));
        };
        self.pending.extend(frames);
        let mut out = Vec::new();
        while self.pending.len() >= resampler.input_frames_next() {
            let block: Vec<f32> = self.pending.drain(..resampler.input_frames_next()).collect();
            let resampled = resampler.process(&[block], None).map_err(|e| failed("resampler", e))?;
            out.extend(resampled.into_iter().flatten());
        }
        Ok(Some(out))
    }
}
