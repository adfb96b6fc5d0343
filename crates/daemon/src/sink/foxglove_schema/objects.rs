//! `TrackingUpdate` → `foxglove.SceneUpdate`: tracked objects in the 3D
//! panel, without a camera image.
//!
//! Each object with a measured range and a bearing becomes one entity in
//! the tracker's own frame (`frame_id` = the sensor's name; x forward
//! along the camera axis, y left, z up, as Foxglove's frames are): a
//! sphere whose size grows with the box, at range / bearing / elevation
//! (elevation 0 when unknown), and a text label `label #id (confidence)`.
//! Every update first deletes all entities of the topic, so an object no
//! longer seen disappears. Objects without range or bearing cannot be
//! placed and are left out of the scene (they stay in the frame channel).

use dronetel_proto::foxglove::{
    scene_entity_deletion, Color, Pose, Quaternion, SceneEntity, SceneEntityDeletion, SceneUpdate,
    SpherePrimitive, TextPrimitive, Vector3,
};
use dronetel_proto::v1::{TrackedObject, TrackingUpdate};

/// Where `o` is in the tracker's frame (x forward, y left, z up), metres.
pub fn position(o: &TrackedObject) -> Option<Vector3> {
    let (r, b) = (o.range_m?, o.bearing_deg?.to_radians());
    let e = o.elevation_deg.unwrap_or(0.0).to_radians();
    Some(Vector3 {
        x: r * e.cos() * b.cos(),
        // Bearing is right positive; y points left.
        y: -r * e.cos() * b.sin(),
        z: r * e.sin(),
    })
}

/// The scene of one tracking update of `sensor`.
pub fn scene_update(
    sensor: &str,
    t: &TrackingUpdate,
    received: Option<prost_types::Timestamp>,
) -> SceneUpdate {
    let at = t.captured_at.or(received);
    let entities = t
        .objects
        .iter()
        .filter_map(|o| {
            let position = position(o)?;
            let pose = Pose {
                position: Some(position),
                orientation: Some(Quaternion {
                    w: 1.0,
                    ..Default::default()
                }),
            };
            let size = 0.5 + 2.0 * o.bbox_w.max(o.bbox_h);
            let label = if o.label.is_empty() {
                "object"
            } else {
                &o.label
            };
            Some(SceneEntity {
                timestamp: at,
                frame_id: sensor.to_owned(),
                id: o.track_id.to_string(),
                frame_locked: true,
                spheres: vec![SpherePrimitive {
                    pose: Some(pose),
                    size: Some(Vector3 {
                        x: size,
                        y: size,
                        z: size,
                    }),
                    color: Some(Color {
                        r: 1.0,
                        g: 0.4,
                        b: 0.1,
                        a: 0.4 + 0.6 * o.confidence,
                    }),
                }],
                texts: vec![TextPrimitive {
                    pose: Some(pose),
                    billboard: true,
                    font_size: 14.0,
                    scale_invariant: true,
                    color: Some(Color {
                        r: 1.0,
                        g: 1.0,
                        b: 1.0,
                        a: 1.0,
                    }),
                    text: format!("{label} #{} ({:.2})", o.track_id, o.confidence),
                }],
                ..Default::default()
            })
        })
        .collect();
    SceneUpdate {
        deletions: vec![SceneEntityDeletion {
            timestamp: at,
            r#type: scene_entity_deletion::Type::All as i32,
            id: String::new(),
        }],
        entities,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn objects_are_placed_from_range_bearing_elevation() {
        let o = TrackedObject {
            track_id: 7,
            label: "person".into(),
            confidence: 0.5,
            range_m: Some(10.0),
            bearing_deg: Some(90.0),
            ..Default::default()
        };
        let p = position(&o).unwrap();
        assert!(p.x.abs() < 1e-9 && (p.y + 10.0).abs() < 1e-9 && p.z == 0.0);
        let up = TrackedObject {
            bearing_deg: Some(0.0),
            elevation_deg: Some(90.0),
            ..o.clone()
        };
        assert!((position(&up).unwrap().z - 10.0).abs() < 1e-9);
        let unplaced = TrackedObject {
            range_m: None,
            ..o.clone()
        };
        let u = scene_update(
            "cam",
            &TrackingUpdate {
                objects: vec![o, unplaced],
                ..Default::default()
            },
            None,
        );
        assert_eq!(u.entities.len(), 1);
        assert_eq!(u.entities[0].id, "7");
        assert_eq!(u.entities[0].frame_id, "cam");
        assert_eq!(u.entities[0].texts[0].text, "person #7 (0.50)");
        assert_eq!(u.deletions.len(), 1);
    }
}
