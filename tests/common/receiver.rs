//! A webhook receiver for the tests: an HTTP server that records every
//! request with its Standard Webhooks headers and answers what it is told.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Delivery {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An HTTP server that records every POST and answers with `status`.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Delivery>>>,
    /// What it answers from now on.
    pub status: Arc<AtomicU16>,
    pub handle: actix_web::dev::ServerHandle,
}

type Shared = (Arc<Mutex<Vec<Delivery>>>, Arc<AtomicU16>);

async fn hook(req: HttpRequest, body: web::Bytes, st: web::Data<Shared>) -> HttpResponse {
    let status = st.1.load(Ordering::SeqCst);
    let h = |n: &str| req.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    st.0.lock().unwrap().push(Delivery {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: body.to_vec(),
        answered: status,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).finish()
}

impl Receiver {
    pub async fn start() -> Self {
        Self::on(std::net::TcpListener::bind("127.0.0.1:0").unwrap())
    }

    pub fn on(listener: std::net::TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let got: Arc<Mutex<Vec<Delivery>>> = Default::default();
        let status = Arc::new(AtomicU16::new(200));
        let shared: web::Data<Shared> = web::Data::new((got.clone(), status.clone()));
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new().app_data(shared.clone()).default_service(web::to(hook))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .disable_signals()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { url: format!("http://127.0.0.1:{port}/hook"), got, status, handle }
    }

    /// Deliveries answered 2xx, in the order they arrived.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().iter().filter(|d| d.answered < 300).cloned().collect()
    }

    pub fn all(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }
}
