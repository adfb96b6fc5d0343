//! NMEA 0183 sentence encoders: build sentences with correct checksums.
