//! The WhatsApp Web multi-device protocol as a sans-I/O state machine.
