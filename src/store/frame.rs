//! Length-delimited frames: a big-endian u32 byte count, then a JSON body.
//!
//! Invariant: a frame longer than [`MAX_FRAME`] is refused before any
//! allocation, so a garbage length cannot exhaust memory.

use serde::{de::DeserializeOwned, Serialize};
use std::io::{Read, Write};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest accepted frame body (a snapshot of a large store fits).
pub const MAX_FRAME: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes exceeds the {MAX_FRAME}-byte limit")]
    TooLarge(usize),
    #[error("malformed frame body: {0}")]
    Json(#[from] serde_json::Error),
}

/// Appends one frame holding `msg` to `buf`.
pub fn encode<T: Serialize>(buf: &mut Vec<u8>, msg: &T) -> Result<(), FrameError> {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    serde_json::to_writer(&mut *buf, msg)?;
    let len = buf.len() - start - 4;
    if len > MAX_FRAME {
        buf.truncate(start);
        return Err(FrameError::TooLarge(len));
    }
    buf[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(())
}

pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let mut buf = Vec::new();
    encode(&mut buf, msg)?;
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame body (blocking).
pub fn read_frame<R: Read>(r: &mut R) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// Reads one frame body; `Ok(None)` on a clean end of stream.
pub async fn read_frame_async<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<Vec<u8>>, FrameError> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(body))
}

pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, FrameError> {
    Ok(serde_json::from_slice(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        let mut buf = Vec::new();
        encode(&mut buf, &serde_json::json!({"a": 1})).unwrap();
        encode(&mut buf, &"x").unwrap();
        let mut r = &buf[..];
        let a: serde_json::Value = decode(&read_frame(&mut r).unwrap()).unwrap();
        assert_eq!(a["a"], 1);
        let b: String = decode(&read_frame(&mut r).unwrap()).unwrap();
        assert_eq!(b, "x");
        let huge = (u32::MAX).to_be_bytes();
        assert!(matches!(read_frame(&mut &huge[..]), Err(FrameError::TooLarge(_))));
        assert!(matches!(
            read_frame(&mut &[0u8, 0, 0, 5, b'{'][..]),
            Err(FrameError::Io(_))
        ));
    }
}
