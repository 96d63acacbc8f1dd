//! The real network runtime: the same sans-IO nodes over tokio.
//!
//! [`block_on`] lets a notebook cell wait for a future without switching evcxr into async mode
//! (a top-level `.await` makes every later cell about 2 s slower; notebook-toolchain notes).

use std::future::Future;

/// Runs `future` to completion on a fresh single-threaded tokio runtime with I/O and timers.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_io_and_timers_to_completion() {
        let echoed = block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 5];
                socket.read_exact(&mut buf).await.unwrap();
                socket.write_all(&buf).await.unwrap();
            });
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            client.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            client.read_exact(&mut buf).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            server.await.unwrap();
            buf
        });
        assert_eq!(&echoed, b"hello");
    }
}
