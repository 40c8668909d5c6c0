//! A small async service (tokio) that computes a graph per request.
//!
//! Each request is a line with a number `n`; the service builds the graph
//! `sum(inc(i) for i in 1..=n)` (the lesson's loop, tasks of 1 ms) and
//! answers `n total` once the compute has finished. The computes run on the
//! `delayed` executor, awaited with `compute_async`, so tokio's threads keep
//! serving other connections meanwhile. A client that disconnects drops its
//! pending compute, which cancels it.
//!
//! ```text
//! cargo run --example async_service                    # serves 127.0.0.1, asks 8 requests, exits
//! cargo run --example async_service -- 127.0.0.1:7878  # serves until stopped
//! ```
//! Then, for instance, `echo 8 | nc 127.0.0.1 7878` answers `8 44`.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How long each `inc` task takes.
const UNIT: Duration = Duration::from_millis(1);

/// Builds and computes the graph of one request.
async fn compute(n: i64) -> Result<i64, delayed::Error> {
    let g = delayed::Graph::new();
    let xs: Vec<_> = (1..=n)
        .map(|i| {
            g.delayed("inc", move || {
                std::thread::sleep(UNIT);
                i + 1
            })
        })
        .collect();
    let total = g.task("sum", &xs, |values| values.into_iter().sum::<i64>());
    total.compute_async().await
}

/// Answers each line of one connection.
async fn serve(stream: TcpStream) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut lines = BufReader::new(reader).lines();
    while let Some(line) = lines.next_line().await? {
        let answer = match line.trim().parse::<i64>() {
            Ok(n) if (0..=100_000).contains(&n) => match compute(n).await {
                Ok(total) => format!("{n} {total}\n"),
                Err(error) => format!("error: {error}\n"),
            },
            _ => format!("error: '{line}' is not a number from 0 to 100000\n"),
        };
        writer.write_all(answer.as_bytes()).await?;
    }
    Ok(())
}

/// Accepts connections until the process ends, each on its own tokio task.
async fn accept(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(async move {
                    if let Err(error) = serve(stream).await {
                        eprintln!("connection: {error}");
                    }
                });
            }
            Err(error) => eprintln!("accept: {error}"),
        }
    }
}

/// One client request: sends `n`, returns the answer line.
async fn ask(addr: std::net::SocketAddr, n: i64) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(format!("{n}\n").as_bytes()).await?;
    let mut answer = String::new();
    BufReader::new(&mut stream).read_line(&mut answer).await?;
    Ok(answer.trim_end().to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if let Some(addr) = std::env::args().nth(1) {
        let listener = TcpListener::bind(&addr).await?;
        println!("serving on {}", listener.local_addr()?);
        accept(listener).await;
        return Ok(());
    }
    // The demonstration: a server on a free port and 8 concurrent clients.
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(accept(listener));
    let requests: Vec<_> = (1..=8).map(|k| tokio::spawn(ask(addr, 8 * k))).collect();
    for request in requests {
        println!("{}", request.await??);
    }
    Ok(())
}
