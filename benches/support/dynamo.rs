//! A DynamoDB Local of the bench's own, on a fixed loopback port, that can be restarted (in
//! memory: a restart empties it, as a crashed emulator or a recreated table does). Stopped when
//! dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A DynamoDB Local process on `port`.
pub struct OwnDynamo {
    pub port: u16,
    child: Option<Child>,
}

impl OwnDynamo {
    /// Starts one on a free port and waits until it listens.
    pub fn start() -> OwnDynamo {
        let mut d = OwnDynamo {
            port: crate::harness::free_port(),
            child: None,
        };
        d.launch();
        d
    }

    /// Its endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let child = Command::new("java")
            .args(["-Xmx1g", "-Djava.library.path=./DynamoDBLocal_lib", "-jar"])
            .args([
                "DynamoDBLocal.jar",
                "-inMemory",
                "-port",
                &self.port.to_string(),
            ])
            .current_dir(crate::harness::dynamodb_local_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start DynamoDB Local");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "DynamoDB Local did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills it, waits `down`, and starts it again on the same port, empty.
    pub fn restart(&mut self, down: Duration) {
        self.stop();
        std::thread::sleep(down);
        self.launch();
    }
}

impl Drop for OwnDynamo {
    fn drop(&mut self) {
        self.stop();
    }
}
