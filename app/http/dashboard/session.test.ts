import { describe, expect, it } from "vitest";
import { readCookie, sameOrigin, sessionCookie } from "./session.js";

describe("session cookie", () => {
  it("reads one cookie among others and decodes it", () => {
    expect(readCookie("a=1; qgjob_session=qgj_x%2By; b=2", "qgjob_session")).toBe("qgj_x+y");
    expect(readCookie("a=1", "qgjob_session")).toBeUndefined();
    expect(readCookie(undefined, "qgjob_session")).toBeUndefined();
    expect(readCookie("qgjob_session=%E0%A4%A", "qgjob_session")).toBeUndefined();
  });

  it("is HttpOnly and SameSite=Strict, and Secure only behind https", () => {
    expect(sessionCookie("t", false)).toMatch(/HttpOnly; SameSite=Strict/);
    expect(sessionCookie("t", false)).not.toMatch(/Secure/);
    expect(sessionCookie("t", true)).toMatch(/; Secure$/);
  });
});

describe("sameOrigin", () => {
  it("accepts a form posted from this host and refuses others or none", () => {
    const host = "127.0.0.1:8000";
    expect(sameOrigin({ origin: "http://127.0.0.1:8000" }, host)).toBe(true);
    expect(sameOrigin({ referer: "http://127.0.0.1:8000/runs/x" }, host)).toBe(true);
    expect(sameOrigin({ origin: "http://evil.example" }, host)).toBe(false);
    expect(sameOrigin({ origin: "null" }, host)).toBe(false);
    expect(sameOrigin({}, host)).toBe(false);
    expect(sameOrigin({ origin: "http://127.0.0.1:8000" }, undefined)).toBe(false);
  });
});
