/** Sign-in: a read token entered once; the server keeps it in an HttpOnly cookie. */
import { html } from "./html.js";
import { page } from "./layout.js";

export function loginPage(error: string | null) {
  return page({
    title: "Sign in",
    section: null,
    viewer: null,
    body: html`<h1>Sign in</h1>
      <p>
        This server needs an API token with the <code>read</code> scope (create one with
        <code>qgjob token create --org &lt;org&gt; --scope read</code>). It is kept in an HttpOnly
        cookie for this browser; a token with <code>submit</code> also lets you cancel and re-run.
      </p>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <form class="login" method="post" action="/login">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus />
        <button type="submit">Sign in</button>
      </form>`,
  });
}
