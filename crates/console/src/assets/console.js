// certbound console: small progressive enhancement. Every page works without
// this script; with it, the client form's certificate diagnostics update as
// the operator types or pastes, without a page load.
(function () {
  'use strict';

  // After a refused save, move focus to the list of problems.
  var refused = document.getElementById('error-summary');
  if (refused) {
    refused.focus();
  }

  var form = document.getElementById('client-form');
  if (!form) {
    return;
  }

  // The constraint chooser: the value's placeholder shows an example of the chosen type.
  var kind = document.getElementById('f-constraint_type');
  var value = document.getElementById('f-constraint_value');
  if (kind && value) {
    kind.addEventListener('change', function () {
      var option = kind.options[kind.selectedIndex];
      value.placeholder = (option && option.getAttribute('data-example')) || '';
    });
  }
  var endpoint = form.getAttribute('data-diagnose');
  var body = document.getElementById('diagnostics-body');
  var status = document.getElementById('diag-status');
  if (!endpoint || !body || !status || !window.fetch) {
    return;
  }
  var timer = null;
  var sequence = 0;

  function check() {
    var mine = ++sequence;
    var params = new URLSearchParams(new FormData(form));
    params.set('action', 'check');
    status.textContent = 'Checking…';
    fetch(endpoint, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Accept': 'application/json' },
      body: params
    }).then(function (response) {
      if (!response.ok) {
        throw new Error('the server answered ' + response.status);
      }
      return response.json();
    }).then(function (data) {
      if (mine !== sequence) {
        return; // a newer check is under way
      }
      // The fragment is rendered, and every value in it escaped, by the same
      // server code that renders the page without this script.
      var parsed = new DOMParser().parseFromString(data.html, 'text/html');
      body.replaceChildren.apply(body, Array.prototype.slice.call(parsed.body.childNodes));
      status.textContent = data.status;
      // The problems of an earlier save are now out of date: the panel says what holds.
      var stale = document.getElementById('error-summary');
      if (stale) {
        stale.remove();
      }
    }).catch(function (error) {
      if (mine === sequence) {
        status.textContent = 'The live check failed (' + error.message + '). Use the Check certificates button.';
      }
    });
  }

  form.addEventListener('input', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
  });

  var button = form.querySelector('button[name="action"][value="check"]');
  if (button) {
    button.addEventListener('click', function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      check();
    });
  }
})();
