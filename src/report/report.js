(function(){
var tip=document.createElement('div');tip.className='tip';document.body.appendChild(tip);
Array.prototype.forEach.call(document.querySelectorAll('svg.chart title'),function(t){
  var p=t.parentNode;p.setAttribute('data-tip',t.textContent);p.removeChild(t);});
document.addEventListener('mousemove',function(e){
  var el=e.target&&e.target.closest?e.target.closest('[data-tip]'):null;
  if(!el){tip.style.display='none';return;}
  tip.textContent=el.getAttribute('data-tip');tip.style.display='block';
  var x=e.clientX+14,y=e.clientY+14;
  if(x+tip.offsetWidth>window.innerWidth-8)x=e.clientX-tip.offsetWidth-14;
  if(y+tip.offsetHeight>window.innerHeight-8)y=e.clientY-tip.offsetHeight-14;
  tip.style.left=x+'px';tip.style.top=y+'px';});
var n=0;Array.prototype.forEach.call(document.querySelectorAll('svg.chart'),function(s){
  var b=s.getBBox();if(b.width>0&&b.height>0)n++;});
document.body.setAttribute('data-charts-rendered',String(n));
})();
