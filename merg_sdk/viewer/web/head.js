// The head: a glTF with ARKit-named morph targets, driven by name from `face` frames.
//
// Columns are matched to morph targets by name once per session (rig.names), not per
// frame. A head without some of the expected targets still plays: the page lists the
// missing names and drives the ones that exist. Head rotation turns a pivot near the
// neck; eye rotation turns eye nodes when the glTF has them (and then the eyeLook*
// targets are left at rest, as docs/protocol.md asks), else the eyeLook* targets carry
// the gaze (the reference head has no eye nodes).
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const EYE_NAMES = {
  left: new Set(['lefteye', 'eyeleft', 'eyel', 'leye']),
  right: new Set(['righteye', 'eyeright', 'eyer', 'reye']),
};

function plain(name) {
  // "mixamorig:LeftEye", "Eye_L", "eye.L" -> "lefteye", "eyel", "eyel"
  return name.split(':').pop().toLowerCase().replace(/[^a-z]/g, '');
}

function targetKey(name) {
  // "blendShape1.jawOpen" / "ARKit_jawOpen" / "JawOpen" -> "jawopen"
  return name.split('.').pop().replace(/^arkit_/i, '').toLowerCase();
}

export class Head {
  constructor(scene) {
    this.scene = scene;
    this.pivot = new THREE.Group();
    this.scene.add(this.pivot);
    this.meshes = [];
    this.eyes = null; // {left, right} nodes with their rest quaternions
    this.columns = []; // per session column: [[influences, index], ...]
    this.current = new Map(); // name -> last influence set
    this.found = [];
    this.missing = [];
    this.targetCount = 0;
  }

  async load(url) {
    const gltf = await new GLTFLoader().loadAsync(url);
    const root = gltf.scene;
    const box = new THREE.Box3().setFromObject(root);
    const size = box.getSize(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    // pivot at the top of the neck: a quarter up from the bottom, a little behind the centre
    const pivotAt = new THREE.Vector3(center.x, box.min.y + 0.25 * size.y, center.z - 0.1 * size.z);
    this.pivot.position.copy(pivotAt);
    root.position.sub(pivotAt);
    this.pivot.add(root);
    const byName = {};
    root.traverse((node) => {
      if (node.isMesh && node.morphTargetDictionary) {
        this.meshes.push(node);
        this.targetCount += Object.keys(node.morphTargetDictionary).length;
      }
      const key = plain(node.name || '');
      if (EYE_NAMES.left.has(key)) byName.left = node;
      if (EYE_NAMES.right.has(key)) byName.right = node;
    });
    if (byName.left && byName.right) {
      this.eyes = {
        left: byName.left, right: byName.right,
        leftRest: byName.left.quaternion.clone(), rightRest: byName.right.quaternion.clone(),
      };
    }
    return { center, size, box };
  }

  get eyeMode() { return this.eyes ? 'nodes' : 'morphs'; }

  // The morph slots a name drives, across every mesh (a head may split face, teeth, eyes).
  slots(name) {
    const out = [];
    const key = targetKey(name);
    for (const mesh of this.meshes) {
      const dict = mesh.morphTargetDictionary;
      let index = dict[name];
      if (index === undefined) {
        const match = Object.keys(dict).find((k) => targetKey(k) === key);
        if (match !== undefined) index = dict[match];
      }
      if (index !== undefined) out.push([mesh.morphTargetInfluences, index]);
    }
    return out;
  }

  // Match a rig's columns to targets; returns the names the head lacks.
  bind(names) {
    const skipGaze = this.eyes !== null;
    this.columns = names.map((name) => (skipGaze && name.startsWith('eyeLook') ? [] : this.slots(name)));
    this.names = names;
    this.found = names.filter((_, i) => this.columns[i].length > 0);
    this.missing = names.filter((name) => this.slots(name).length === 0);
    return this.missing;
  }

  // One frame: weights is a Float32Array row in rig order; head [pitch, yaw, roll]; eyes
  // [left pitch, left yaw, right pitch, right yaw] (radians, see docs/protocol.md).
  apply(weights, head, eyes) {
    for (let c = 0; c < this.columns.length; c++) {
      const slots = this.columns[c];
      if (slots.length === 0) continue;
      const w = weights[c];
      for (const [influences, index] of slots) influences[index] = w;
      this.current.set(this.names[c], w);
    }
    if (head) this.pivot.rotation.set(head[0], head[1], head[2], 'YXZ');
    if (eyes && this.eyes) {
      const turn = (node, rest, pitch, yaw) => {
        node.quaternion.copy(rest).multiply(
          new THREE.Quaternion().setFromEuler(new THREE.Euler(pitch, yaw, 0, 'YXZ')));
      };
      turn(this.eyes.left, this.eyes.leftRest, eyes[0], eyes[1]);
      turn(this.eyes.right, this.eyes.rightRest, eyes[2], eyes[3]);
    }
  }

  // Ease back to rest between turns (factor 0..1 of the remaining pose kept per call).
  relax(keep) {
    for (const mesh of this.meshes) {
      const influences = mesh.morphTargetInfluences;
      for (let i = 0; i < influences.length; i++) influences[i] *= keep;
    }
    for (const [name, w] of this.current) this.current.set(name, w * keep);
    const r = this.pivot.rotation;
    r.set(r.x * keep, r.y * keep, r.z * keep, 'YXZ');
    if (this.eyes) {
      this.eyes.left.quaternion.slerp(this.eyes.leftRest, 1 - keep);
      this.eyes.right.quaternion.slerp(this.eyes.rightRest, 1 - keep);
    }
  }

  value(name) { return this.current.get(name) ?? 0; }

  maxInfluence() {
    let most = 0;
    for (const w of this.current.values()) most = Math.max(most, w);
    return most;
  }
}
